"""Scoring of result records against the control catalogue, and the HTML/JSON/JUnit report.

The dependency rule: ``reports`` imports ``tenantprobe``; ``tenantprobe`` never imports
``reports`` at module level (its ``report`` command imports :mod:`reports.cli` when it runs).

Example::

    from pathlib import Path
    from reports import ReportOptions, build_report, write_report

    report = build_report(ReportOptions(results_dir=Path("results")))
    paths = write_report(report, Path("build/report"))
    print(report.decision.verdict, paths["html"])
"""

from reports._build import Report, ReportOptions, build_report
from reports._model import ControlResult, Problem, Record, Verdict
from reports._write import write_report

__all__ = [
    "ControlResult",
    "Problem",
    "Record",
    "Report",
    "ReportOptions",
    "Verdict",
    "build_report",
    "write_report",
]
