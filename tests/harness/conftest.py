"""Run the isolation suite the way a user does against a small target app served for the test."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.detection.conftest import ROOT, SuiteRun, run_suite
from tests.targets.serve import serving

SUITE = "suites/isolation"


@contextmanager
def profile_for(app: Any, profile: dict[str, Any], folder: Path) -> Iterator[Path]:
    """The app served on loopback and a profile file pointing at it."""
    with serving(app) as base_url:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "target.yaml"
        path.write_text(yaml.safe_dump({**profile, "base_url": base_url}))
        yield path


def attack(app: Any, profile: dict[str, Any], folder: Path, *options: str) -> SuiteRun:
    """``pytest suites/isolation --target <profile>`` against ``app``, records in ``folder/results``."""
    with profile_for(app, profile, folder) as path:
        return run_suite(SUITE, folder / "results", "--target", str(path), "--tenants", "2", "-rfE", *options)


def report_verdict(results: Path, out: Path) -> tuple[int, str]:
    """``tenantprobe report`` over a run's results: (exit code, verdict)."""
    completed = subprocess.run(
        [Path(sys.executable).parent / "tenantprobe", "report", "--results", str(results), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = out / "report.json"
    verdict = json.loads(report.read_text())["verdict"]["status"] if report.exists() else "none"
    return completed.returncode, verdict
