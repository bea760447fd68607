"""``tenantprobe audit``: one command from a target profile to a report, gaps named with their reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tenantprobe.audit import STEP_NAMES, LoadSettings, describe, plan

ROOT = Path(__file__).parents[2]
TENANTPROBE = [sys.executable, "-m", "tenantprobe"]


def test_steps_that_cannot_run_are_reported_not_assessed_with_the_reason(tmp_path: Path) -> None:
    results, out = tmp_path / "results", tmp_path / "report"
    command = [*TENANTPROBE, "audit", "--skip", ",".join(STEP_NAMES), "--results", str(results), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
    assert done.returncode == 3, done.stdout + done.stderr  # INCOMPLETE: nothing was assessed
    for number, name in enumerate(STEP_NAMES, 1):
        assert f"[{number}/{len(STEP_NAMES)}] {name}: not assessed (" in done.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"]["status"] == "INCOMPLETE"
    controls = {control["id"]: control for control in report["controls"]}
    assert controls["DATA-RLS-FORCED"]["status"] == "not_assessed"
    assert (
        "did not run isolation: left out of this audit with --skip isolation" in controls["DATA-RLS-FORCED"]["reason"]
    )
    assert "did not run network" in controls["NET-DEFAULT-DENY"]["reason"]
    assert "did not run load" in controls["PERF-P95-RESPONSE"]["reason"]
    assert "benchmarks/migration_window.py" in controls["OPS-MAINTENANCE-WINDOW"]["reason"]


def test_unknown_step_names_the_valid_ones(tmp_path: Path) -> None:
    command = [*TENANTPROBE, "audit", "--skip", "isolaton", "--results", str(tmp_path / "r")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert done.returncode != 0
    assert "--skip isolaton: no such step; the steps are isolation, fuzz, kubernetes, network, load" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_extra_leaves_its_step_not_assessed_with_the_install_command(tmp_path: Path) -> None:
    steps = {step.name: step for step in plan(tmp_path / "t.yaml", tmp_path, "", LoadSettings())}
    assert steps["isolation"].why_not(set()) == ""
    steps["load"].module = "locust_that_is_not_installed"
    assert steps["load"].why_not(set()) == "the 'load' extra is not installed (pip install 'tenantprobe[load]')"
    steady = steps["load"].commands[0]
    assert steady[steady.index("--tenants") + 1] == "100"  # below 100 tenants scalability is not assessed


def test_each_step_says_what_its_exit_codes_mean(tmp_path: Path) -> None:
    step = plan(tmp_path / "t.yaml", tmp_path, "", LoadSettings())[0]
    for codes, said in [
        ([0], "done, nothing found"),
        ([3], "done, some controls not assessed (see the report)"),
        ([3, 1], "done, found problems (see the report)"),
        ([4], "could not run (exit 4; see its log)"),
    ]:
        step.exit_codes = codes
        assert describe(step) == said
