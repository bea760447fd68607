"""One module per seeded fault: its docstring, its control, and the faulty code (see ``reference_app.faults``)."""
