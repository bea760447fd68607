"""Time to build and write a report (HTML, JSON, JUnit, SARIF) from 10,000 synthetic result records.

    .venv/bin/python benchmarks/report_render.py [--records 10000] [--tenants 50] [--repeat 5]

The goals (issues 6 and 20) are ≤ 2 s for 10k records and ≤ 5 s, in bounded memory, for 100k
(peak RSS: run it under `/usr/bin/time -f %M`). The records look like a large isolation run:
mostly passing cross-tenant checks over many tenant pairs, some failures with full HTTP
evidence, a few not-assessed and error records, plus a load result with per-tenant figures.
Prints every run and the median; parsing, scoring, rendering and writing are all included.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from reports import ReportOptions, build_report, write_report
from tenantprobe.controls import load_catalogue
from tenantprobe.records import target_fingerprint

RUN_ID = "20261126T100000Z-0b0b0b"


def synthesize(results: Path, records: int, tenants: int) -> None:
    rng = random.Random(6)
    catalogue = [c for c in load_catalogue() if c.measure.kind == "check"]
    names = [f"tp-{i:04d}" for i in range(tenants)]
    target = {
        "name": "bench",
        "title": "synthetic target",
        "version": "1",
        "base_url": "http://127.0.0.1:1",
        "faults": [],
    }
    fingerprint = target_fingerprint(target)
    with (results / "bench-1.jsonl").open("w") as out:
        for index in range(records):
            control = catalogue[index % len(catalogue)]
            attacker, victim = rng.sample(names, 2)
            roll = rng.random()
            status = "fail" if roll < 0.02 else "error" if roll < 0.025 else "not_assessed" if roll < 0.03 else "pass"
            evidence = []
            if status == "fail":
                evidence = [
                    {
                        "actor": f"member@{attacker}",
                        "request": {
                            "method": "GET",
                            "url": f"http://127.0.0.1:1/v1/notes/{index}",
                            "headers": {"Authorization": "Bearer [REDACTED JWT]"},
                            "body": None,
                        },
                        "response": {
                            "status": 200,
                            "headers": {"content-type": "application/json"},
                            "body": json.dumps({"id": index, "body": "x" * 1500}),
                            "elapsed_ms": 2.0,
                        },
                        "curl": f"curl -sS http://127.0.0.1:1/v1/notes/{index}",
                    }
                ]
            record = {
                "control_id": control.id,
                "check_id": f"suites/bench/test_{control.id.lower()}.py::check[{index}]",
                "status": status,
                "severity": control.severity,
                "summary": f"{attacker} → {victim}: {control.title}",
                "reason": "synthetic" if status in ("error", "not_assessed") else None,
                "measured": {"attempts": 5, "blocked": 4 if status == "fail" else 5},
                "evidence": evidence,
                "pair": {"attacker": attacker, "victim": victim} if control.isolation else None,
                "target": target,
                "run_id": RUN_ID,
                "target_fingerprint": fingerprint,
                "started_at": "2026-11-26T10:00:00.000+00:00",
                "finished_at": "2026-11-26T10:05:00.000+00:00",
            }
            out.write(json.dumps(record) + "\n")
    load = {
        "schema": "tenantprobe.load/1",
        "run_id": RUN_ID,
        "scenario": "steady",
        "metrics": {
            "avg_ms": 40.0,
            "p95_ms": 70.0,
            "tenant_rps": 120.0,
            "concurrent_tenants": tenants,
            "cpu_percent_max": 60.0,
            "memory_percent_max": 50.0,
        },
        "per_tenant": [
            {"tenant": n, "requests": 1000, "rps": 110.0, "latency_ms": {"p50": 20.0, "p95": 60.0, "p99": 90.0}}
            for n in names
        ],
        "throughput_series": [{"t": float(t), "rps": 1000.0 + t} for t in range(600)],
        "scalability": [{"tenants": n, "rps": 10.0 * n, "p95_ms": 20 + n / 5} for n in range(10, tenants + 1, 10)],
        "resources": [{"t": float(t), "cpu_percent": 50.0, "memory_percent": 40.0} for t in range(600)],
    }
    (results / "load-steady.json").write_text(json.dumps(load))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        results, out = Path(scratch) / "results", Path(scratch) / "report"
        results.mkdir()
        synthesize(results, args.records, args.tenants)
        times, cpu = [], []
        for run in range(1, args.repeat + 1):
            started, started_cpu = time.perf_counter(), time.process_time()
            report = build_report(ReportOptions(results_dir=results))
            write_report(report, out, with_sarif=True)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            size = (out / "report.html").stat().st_size
            print(
                f"run {run}: {times[-1]:.3f} s wall, {cpu[-1]:.3f} s CPU  ({report.record_count} records, "
                f"report.html {size / 1024:.0f} KiB, verdict {report.decision.verdict})"
            )
    print(
        f"median of {args.repeat}: {statistics.median(times):.3f} s wall, {statistics.median(cpu):.3f} s CPU "
        f"for {args.records} records (goal ≤ 2 s for 10,000, ≤ 5 s for 100,000; the first run includes compiling "
        "the template)"
    )


if __name__ == "__main__":
    main()
