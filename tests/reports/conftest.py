"""Fixtures for the report tests: a real isolation run, crafted records, snapshots and Chromium.

``UPDATE_SNAPSHOTS=1 pytest tests/reports`` rewrites the pinned messages in ``__snapshots__/``
after a deliberate change; review the diff before committing it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from reports import Report, ReportOptions, build_report
from tenantprobe.controls import load_catalogue
from tenantprobe.records import ResultRecord, Status, target_fingerprint
from tests.detection.conftest import SuiteRun, run_suite
from tests.reports.browser import ensure_chromium

SNAPSHOTS = Path(__file__).parent / "__snapshots__"
ARTIFACTS = Path(__file__).parents[2] / "build" / "test-artifacts"
TARGET = {"name": "reference", "title": "PAKE knowledge engine", "version": "1.0.0", "faults": []}
RUN_ID = "20261120T100000Z-0a1b2c"


def assert_snapshot(name: str, text: str) -> None:
    """Compare ``text`` with the pinned ``__snapshots__/<name>.txt``."""
    __tracebackhide__ = True
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.write_text(text, encoding="utf-8")
        if os.environ.get("UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"snapshot {path.name} did not exist and was written; check it and run again")
        return
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"snapshot {path.name} differs (UPDATE_SNAPSHOTS=1 rewrites it)"


def record(control_id: str, status: str = "pass", **fields: Any) -> dict[str, Any]:
    """A result record as a suite writes it (through ResultRecord, so the format is the real one)."""
    catalogue = load_catalogue()
    fields.setdefault("severity", catalogue.get(control_id).severity)
    fields.setdefault("target", TARGET)
    fields.setdefault("run_id", RUN_ID)
    fields.setdefault("target_fingerprint", target_fingerprint(fields["target"]))
    fields.setdefault("started_at", "2026-11-20T10:00:00.000+00:00")
    fields.setdefault("finished_at", "2026-11-20T10:00:05.000+00:00")
    made = ResultRecord(
        control_id=control_id,
        check_id=fields.pop("check_id", f"suite::{control_id.lower()}"),
        status=Status(status),
        **fields,
    )
    loaded: dict[str, Any] = json.loads(made.to_json())
    return loaded


def foreign_read(summary: str = "tp-b read tp-a's note", **fields: Any) -> dict[str, Any]:
    """tp-b reading tp-a's note: the failed critical isolation control the verdict tests build on."""
    return record(
        "API-CROSS-TENANT-READ", "fail", summary=summary, pair={"attacker": "tp-b", "victim": "tp-a"}, **fields
    )


def write_records(results: Path, records: Iterable[dict[str, Any]], name: str = "suite-1.jsonl") -> Path:
    results.mkdir(parents=True, exist_ok=True)
    path = results / name
    with path.open("a", encoding="utf-8") as out:
        for item in records:
            out.write(json.dumps(item, sort_keys=True) + "\n")
    return path


def passing_everything() -> list[dict[str, Any]]:
    """One passing record per catalogue control, with metric values that meet their thresholds."""
    records = []
    for control in load_catalogue():
        measured: dict[str, Any] = {"attempts": 4, "blocked": 4} if control.isolation else {}
        if control.measure.kind == "metric" and control.measure.name and control.measure.threshold is not None:
            threshold = control.measure.threshold
            ok = {"<": threshold * 0.5, "<=": threshold, ">": threshold * 2, ">=": threshold}[
                control.measure.comparator or "<"
            ]
            measured[control.measure.name] = ok
        if control.id == "PERF-RESOURCE-UTILIZATION":
            measured["memory_percent_max"] = 40.0
        records.append(record(control.id, measured=measured))
    return records


def report_for(results: Path, **options: Any) -> Report:
    return build_report(ReportOptions(results_dir=results, **options))


@pytest.fixture(scope="session")
def isolation_run(secure_isolation_run: SuiteRun) -> Path:
    """The results directory of one real run of the isolation suite against the secure reference app."""
    assert secure_isolation_run.exit_code == 0, secure_isolation_run.output
    return secure_isolation_run.results


FAULT = "dal_unscoped_get"  # the reference app's data access layer forgets the tenant on get-by-id
FAULT_CONTROL = "API-CROSS-TENANT-READ"


@pytest.fixture(scope="session")
def fault_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The results directory of a real isolation run against the reference app with a seeded fault: the checks
    of the control it breaks, two tenants (a failing report needs one leaking pair; the secure run shows the
    whole suite and the three-tenant matrix)."""
    results = tmp_path_factory.mktemp("fault-results")
    run = run_suite("suites/isolation", results, "--tenants", "2", "--faults", FAULT, "--controls", FAULT_CONTROL)
    assert run.exit_code == 1, run.output
    assert FAULT_CONTROL in run.controls_with("fail"), run.output
    return results


@pytest.fixture(scope="session")
def chromium() -> str:
    binary = ensure_chromium()
    if binary is None:
        pytest.skip("Debian's chromium package is not installed and cannot be (not root, or no apt-get)")
    return binary
