"""Run a suite the way a user does (a pytest subprocess) against the reference app, with or without faults."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]


@dataclass(frozen=True)
class SuiteRun:
    exit_code: int
    records: list[dict[str, Any]]
    output: str
    """Everything the run printed: the gap summary sits above pytest's short summary, which may be long."""

    def controls_with(self, status: str) -> set[str]:
        return {record["control_id"] for record in self.records if record["status"] == status}


def run_suite(suite: str, results_dir: Path, *options: str, timeout: float = 300) -> SuiteRun:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            suite,
            "-q",
            "-p",
            "no:cacheprovider",
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
    records = [
        json.loads(line) for path in sorted(results_dir.glob("*.jsonl")) for line in path.read_text().splitlines()
    ]
    return SuiteRun(completed.returncode, records, completed.stdout + completed.stderr)
