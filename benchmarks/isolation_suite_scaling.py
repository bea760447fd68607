"""Wall time of ``pytest suites/isolation`` against the reference app at several tenant counts.

    .venv/bin/python benchmarks/isolation_suite_scaling.py [--tenants 3 10 30] [--repeat 1]

With ``--pairs auto`` the number of attacker→victim pairs grows linearly beyond 5 tenants
(2 per tenant), so the wall time should too. Prints each run and the time per pair.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]


def pairs(tenants: int) -> int:
    return tenants * (tenants - 1) if tenants <= 5 else 2 * tenants


def run(tenants: int) -> float:
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
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"the suite failed at {tenants} tenants:\n{completed.stdout[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, nargs="+", default=[3, 10, 30])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"{'tenants':>8} {'pairs':>6} {'median s':>9} {'s/pair':>7}")
    for count in args.tenants:
        median = statistics.median(run(count) for _ in range(args.repeat))
        print(f"{count:>8} {pairs(count):>6} {median:>9.1f} {median / pairs(count):>7.2f}", flush=True)


if __name__ == "__main__":
    main()
