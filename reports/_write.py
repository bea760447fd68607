"""Write the report files, each atomically (a reader never sees half a report)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from reports._build import Report
from reports._outputs import junit_xml, report_json, sarif
from reports._render import render_html


def _atomic_write(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; a report is meant to be shared
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_report(report: Report, out_dir: Path, *, with_sarif: bool = False) -> dict[str, Path]:
    """report.html, report.json and junit.xml (and report.sarif) in ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"html": out_dir / "report.html", "json": out_dir / "report.json", "junit": out_dir / "junit.xml"}
    _atomic_write(paths["html"], render_html(report))
    _atomic_write(paths["json"], json.dumps(report_json(report), indent=2, sort_keys=True, default=str) + "\n")
    _atomic_write(paths["junit"], junit_xml(report))
    if with_sarif:
        paths["sarif"] = out_dir / "report.sarif"
        _atomic_write(paths["sarif"], json.dumps(sarif(report), indent=2) + "\n")
    return paths
