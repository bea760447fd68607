"""Wall time of ``pytest suites/isolation`` against the reference app at several tenant counts.

    .venv/bin/python benchmarks/isolation_suite_scaling.py [--tenants 3 10 30] [--repeat 1]

With ``--pairs auto`` the number of attacker→victim pairs grows linearly beyond 5 tenants
(2 per tenant), so the wall time should too. Prints each run, the time per pair, the requests
the checks sent (the plugin's summary line), the three slowest checks and those of
``test_references.py`` (``--durations``).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]


def pairs(tenants: int) -> int:
    return tenants * (tenants - 1) if tenants <= 5 else 2 * tenants


def run(tenants: int) -> tuple[float, int, list[str]]:
    """Wall time, requests sent, and pytest's slowest-checks lines of one run."""
    with tempfile.TemporaryDirectory() as results:
        started = time.perf_counter()
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "suites/isolation",
                "-q",
                "-p",
                "no:cacheprovider",
                "--tenants",
                str(tenants),
                "--results-dir",
                results,
                "--durations",
                "0",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"the suite failed at {tenants} tenants:\n{completed.stdout[-3000:]}")
    sent = re.search(r"tenantprobe: (\d+) requests sent", completed.stdout)
    calls = [line for line in completed.stdout.splitlines() if re.match(r"\d+\.\d+s call ", line)]
    slowest = calls[:3] + [line for line in calls[3:] if "test_references" in line]
    return elapsed, int(sent.group(1)) if sent else 0, slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, nargs="+", default=[3, 10, 30])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"{'tenants':>8} {'pairs':>6} {'median s':>9} {'s/pair':>7} {'requests':>9}")
    for count in args.tenants:
        runs = [run(count) for _ in range(args.repeat)]
        median = statistics.median(elapsed for elapsed, _, _ in runs)
        sent = statistics.median(requests for _, requests, _ in runs)
        print(f"{count:>8} {pairs(count):>6} {median:>9.1f} {median / pairs(count):>7.2f} {sent:>9.0f}", flush=True)
        for line in runs[-1][2]:
            print(f"{'':>8} {line}", flush=True)


if __name__ == "__main__":
    main()
