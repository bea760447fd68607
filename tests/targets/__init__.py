"""Small target apps written in other styles than the reference app, each with a secure mode and seeded bugs.

They keep the harness honest on code it was not built with: `tests/harness/` runs the
isolation suite against them the way a user would, with a profile and real HTTP.
"""
