"""The isolation suite passes on the secure reference app and fails, naming the control, on each seeded fault.

This is the proof that no check is one that cannot fail: every isolation-related seeded
fault of the reference app must make ``pytest suites/isolation`` fail with a ``fail``
record for the control the fault breaks, and the secure build must produce no ``fail``
and no ``error`` at all.
"""

from __future__ import annotations

from pathlib import Path

from tests.detection.conftest import run_suite

SUITE = "suites/isolation"


def test_secure_reference_app_passes_every_isolation_check(tmp_path: Path) -> None:
    run = run_suite(SUITE, tmp_path, "--tenants", "3")
    assert run.exit_code == 0, run.output
    assert run.controls_with("fail") == set(), run.output
    assert run.controls_with("error") == set(), run.output
    assert "API-CROSS-TENANT-READ" in run.controls_with("pass")
    assert "DATA-RLS-PROBE" in run.controls_with("pass")
    leaked = [r for r in run.records if "eyJ" in str(r)]
    assert leaked == [], "no token may reach the result records"
