"""Documentation coverage: which of the phase's ten documentation deliverables exist under ``--docs``.

A deliverable is present when a non-empty file (Markdown, reStructuredText, HTML, text,
AsciiDoc, YAML or JSON) under the docs directory has one of the deliverable's keywords in
its path, e.g. ``docs/guides/backup-recovery.md`` for "Backup & Recovery Guide".
"""

from __future__ import annotations

from pathlib import Path

from reports._model import Record
from tenantprobe.records import Status

DOC_SUFFIXES = frozenset({".md", ".rst", ".html", ".txt", ".adoc", ".yaml", ".yml", ".json"})

# (deliverable title as the phase document names it, path keywords that identify it)
DELIVERABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Multi-Tenant Architecture Guide", ("architecture",)),
    ("Database Migration Guide", ("migration",)),
    ("Kubernetes Configuration", ("kubernetes", "k8s")),
    ("API Documentation", ("openapi", "api")),
    ("Security Guide", ("security",)),
    ("Tenant Provisioning Guide", ("provisioning", "onboarding")),
    ("Monitoring Guide", ("monitoring", "alerting")),
    ("Troubleshooting Guide", ("troubleshooting",)),
    ("Performance Tuning Guide", ("performance", "tuning")),
    ("Backup & Recovery Guide", ("backup", "recovery", "disaster")),
)
CONTROL_ID = "OPS-DOCUMENTATION-COVERAGE"


def documentation_record(docs_dir: Path, threshold: float) -> Record:
    """A derived result record for OPS-DOCUMENTATION-COVERAGE listing each deliverable's file."""
    files = sorted(
        path.relative_to(docs_dir).as_posix()
        for path in docs_dir.rglob("*")
        if path.is_file() and path.suffix.lower() in DOC_SUFFIXES and path.stat().st_size > 0
    )
    found: dict[str, str | None] = {}
    for title, keywords in DELIVERABLES:
        found[title] = next((f for f in files if any(k in f.lower() for k in keywords)), None)
    present = sum(1 for f in found.values() if f)
    percent = 100.0 * present / len(DELIVERABLES)
    missing = [title for title, f in found.items() if not f]
    return Record(
        control_id=CONTROL_ID,
        check_id=f"reports::documentation({docs_dir})",
        status=Status.PASS if percent >= threshold else Status.FAIL,
        source=f"--docs {docs_dir}",
        summary=f"{present} of {len(DELIVERABLES)} documentation deliverables present"
        + (f"; missing: {', '.join(missing)}" if missing else ""),
        measured={"documentation_coverage_percent": percent, "present": present, "expected": len(DELIVERABLES)},
        evidence=[{"deliverables": {title: f or "MISSING" for title, f in found.items()}}],
    )
