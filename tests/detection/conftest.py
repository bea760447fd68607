"""Run a suite the way a user does (a pytest subprocess) against the reference app, with or without faults."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantprobe.stack import ReferenceStack, RoleDsns

ROOT = Path(__file__).parents[2]
REFERENCE_PROFILE = ROOT / "targets" / "reference.yaml"

# Plugins of the development environment (entry points) that no suite uses: loading them costs each
# suite run 1.5 s of CPU (hypothesis and schemathesis import themselves whole). The fuzz suite uses both
# as libraries, not as pytest plugins.
UNUSED_PLUGINS = ("hypothesispytest", "schemathesis", "anyio", "locust", "platformdirs")


@dataclass(frozen=True)
class SuiteRun:
    exit_code: int
    records: list[dict[str, Any]]
    output: str
    """Everything the run printed: the gap summary sits above pytest's short summary, which may be long."""
    results: Path

    def controls_with(self, status: str) -> set[str]:
        return {record["control_id"] for record in self.records if record["status"] == status}


def run_suite(suite: str, results_dir: Path, *options: str, timeout: float = 300) -> SuiteRun:
    unused = [argument for name in UNUSED_PLUGINS for argument in ("-p", f"no:{name}")]
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            suite,
            "-q",
            "-p",
            "no:cacheprovider",
            *unused,
            "--results-dir",
            str(results_dir),
            *options,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return SuiteRun(completed.returncode, read_records(results_dir), completed.stdout + completed.stderr, results_dir)


def read_records(results_dir: Path) -> list[dict[str, Any]]:
    """Every result record a run wrote into ``results_dir``."""
    return [json.loads(line) for path in sorted(results_dir.glob("*.jsonl")) for line in path.read_text().splitlines()]


def run_against_reference_app(
    suite: str, folder: Path, seeded: tuple[str, ...], dsns: RoleDsns | None, *options: str
) -> SuiteRun:
    """``suite`` against the reference app started here with ``seeded`` faults, on ``dsns`` (None: its own
    PostgreSQL, set up by the app), through the profile a user writes for a running app."""
    folder.mkdir(parents=True, exist_ok=True)
    with ReferenceStack(dsns=dsns, faults=seeded, log_dir=folder / "logs") as stack:
        profile = stack.running_profile(REFERENCE_PROFILE, folder)
        return run_suite(suite, folder / "results", "--target", str(profile), *options)
