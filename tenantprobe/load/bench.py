"""``tenantprobe bench scale``: the steady scenario at growing tenant counts, as one scalability curve.

The target is opened once (the reference app is started once and serves every point), then
``locust -f scenarios SteadyTenant`` runs in a subprocess per tenant count, each writing its
own ``load-steady-tNNNN.json`` under ``<results>/scale/``. The curve goes to
``<results>/load-scale.json`` (its ``scalability`` points are what the report charts) with a
PERF-CONCURRENT-TENANTS record: the largest tenant count whose run met the latency and
throughput SLOs. locust is never imported here; it runs as a command.

Example::

    tenantprobe bench scale --tenants 1,10,100,1000 --tenant-rps 10 --run-time 30
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from tenantprobe.errors import ProfileError, TenantProbeError
from tenantprobe.load.slo import EXIT_SETUP_FAILED, EXIT_SLO_VIOLATED, Criteria, Evaluation, write_records
from tenantprobe.records import RUN_ID_ENV, ResultWriter, current_run_id, now_iso

bench_app = typer.Typer(help="Load benchmarks built on the locust scenarios (needs the 'load' extra).")
SERVED_CONTROLS = ("PERF-AVG-RESPONSE", "PERF-P95-RESPONSE", "PERF-CONCURRENT-TENANTS")


def scenarios_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "scenarios"


def parse_counts(text: str) -> list[int]:
    try:
        counts = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ProfileError(f"--tenants {text!r}: expected comma-separated tenant counts, e.g. 1,10,100,1000") from None
    if not counts or counts[0] < 1:
        raise ProfileError(f"--tenants {text!r}: every tenant count must be at least 1")
    return counts


def served(document: dict[str, Any]) -> bool:
    """Whether a steady run met its latency and throughput SLOs (CPU and not-assessed aside)."""
    return not any(slo["status"] == "fail" for slo in document["slos"] if slo["control_id"] in SERVED_CONTROLS) and any(
        slo["status"] == "pass" for slo in document["slos"] if slo["control_id"] == "PERF-P95-RESPONSE"
    )


def point(document: dict[str, Any], path: Path, exit_code: int) -> dict[str, Any]:
    metrics = document["metrics"]
    rows = document["per_tenant"]
    ratios = [row["achieved_ratio"] for row in rows if row["achieved_ratio"] is not None]
    summary = document["resource_summary"].get("summary", {})
    totals = document["totals"]
    return {
        "tenants": document["tenants"],
        "rps": totals["achieved_rps"],
        "offered_rps": totals["offered_rps"],
        "avg_ms": totals["latency_us"]["avg_us"] / 1000,
        "p50_ms": totals["latency_us"]["p50_us"] / 1000,
        "p95_ms": totals["latency_us"]["p95_us"] / 1000,
        "p99_ms": totals["latency_us"]["p99_us"] / 1000,
        "max_ms": totals["latency_us"]["max_us"] / 1000,
        "error_rate": totals["error_rate"],
        "achieved_ratio_min": min(ratios, default=0.0),
        "jain_index": metrics.get("jain_index", 0.0),
        "cpu_percent_max": summary.get("cpu_percent_max", 0.0),
        "memory_percent_max": summary.get("memory_percent_max", 0.0),
        "served": served(document),
        "exit_code": exit_code,
        "file": str(path),
    }


def _profile_for(source: Path, base_url: str, key_file: str | None, workdir: Path) -> Path:
    """The source profile pointed at the already running target (so each point does not start one)."""
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    raw.pop("launch", None)
    raw.pop("faults", None)
    raw["base_url"] = base_url
    if key_file:
        raw.setdefault("auth", {})["key_file"] = key_file
    path = workdir / "profile.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def scale_document(points: list[dict[str, Any]], parameters: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    tested = max((p["tenants"] for p in points), default=0)
    passing = [p["tenants"] for p in points if p["served"]]
    ev = Evaluation({}, Criteria())
    needed = ev.threshold("PERF-CONCURRENT-TENANTS")
    if tested < needed:
        ev.metric(
            "PERF-CONCURRENT-TENANTS",
            None,
            f"the sweep went up to {tested} tenants; this control needs a point at {needed:g} or more",
        )
    else:
        ev.metric("PERF-CONCURRENT-TENANTS", max(passing, default=0))
    metrics: dict[str, float] = {r.criterion: r.measured for r in ev.results if r.measured is not None}
    if points:
        metrics["saturation_rps"] = max(p["rps"] for p in points)
        metrics["largest_tenants_tested"] = tested
    failed = any(r.status == "fail" for r in ev.results)
    return {
        "schema": "tenantprobe.load/1",
        "scenario": "scale",
        "started_at": parameters.pop("started_at"),
        "finished_at": now_iso(),
        "tenants": tested,
        "target": target,
        "parameters": parameters,
        "metrics": metrics,
        "scalability": points,
        "slos": [r.as_dict() for r in ev.results],
        "verdict": "fail" if failed else "pass",
        "exit_code": EXIT_SLO_VIOLATED if failed else 0,
        "_results": ev.results,
    }


@bench_app.command("scale")
def scale(
    tenants: Annotated[str, typer.Option(help="tenant counts of the sweep")] = "1,10,100,1000",
    tenant_rps: Annotated[float, typer.Option(help="offered requests/s per tenant")] = 10.0,
    run_time: Annotated[int, typer.Option(help="seconds per point")] = 30,
    warmup: Annotated[float, typer.Option(help="seconds of each point not measured")] = 5.0,
    target: Annotated[Path, typer.Option(help="target profile")] = Path("targets/reference.yaml"),
    faults: Annotated[str, typer.Option(help="seeded faults for a launched reference app")] = "",
    results_dir: Annotated[Path, typer.Option(help="where load-scale.json goes")] = Path("results"),
    processes: Annotated[int, typer.Option(help="locust --processes per point (0: one process)")] = 0,
    scenarios: Annotated[Path | None, typer.Option(help="the scenarios directory")] = None,
    name: Annotated[str, typer.Option(help="result name: load-<name>.json, <name>/ for the points")] = "scale",
) -> None:
    """Run the steady scenario at each tenant count and record the scalability curve."""
    from tenantprobe.profiles import load_profile
    from tenantprobe.target import Target

    started_at = now_iso()
    run_id = current_run_id()
    env = {**os.environ, RUN_ID_ENV: run_id}  # the points belong to this run too
    counts = parse_counts(tenants)
    scenario_dir = scenarios or scenarios_dir()
    if not (scenario_dir / "steady.py").is_file():
        raise ProfileError(f"--scenarios {scenario_dir}: no steady.py there; point it at tenantprobe's scenarios/")
    profile = load_profile(target)
    opened = Target.open(profile, tuple(f for f in faults.split(",") if f), log_dir=results_dir / "logs")
    points: list[dict[str, Any]] = []
    point_dir = results_dir / name
    point_dir.mkdir(parents=True, exist_ok=True)
    try:
        pids = opened.stack.pids() if opened.stack is not None else {}
        app_pids = ",".join(f"{component}={pid}" for component, group in pids.items() for pid in group)
        with tempfile.TemporaryDirectory(prefix="tenantprobe-bench-") as workdir:
            profile_path = _profile_for(target, opened.base_url, opened.profile.auth.key_file, Path(workdir))
            for count in counts:
                point_name = f"steady-t{count:04d}"
                command = [
                    sys.executable, "-m", "locust", "-f", str(scenario_dir), "SteadyTenant", "--headless",
                    "--only-summary", "-t", f"{run_time}s", "--tenants", str(count), "--tenant-rps", str(tenant_rps),
                    "--warmup", str(warmup), "--target", str(profile_path), "--results-dir", str(point_dir),
                    "--result-name", point_name, "--app-pids", app_pids,
                ]  # fmt: skip
                if processes:
                    command += ["--processes", str(processes)]
                typer.echo(f"bench scale: {count} tenants x {tenant_rps:g} req/s for {run_time} s ...")
                with (point_dir / f"locust-{point_name}.log").open("wb") as log:
                    done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
                result = point_dir / f"load-{point_name}.json"
                if done.returncode == EXIT_SETUP_FAILED or not result.is_file():
                    raise TenantProbeError(
                        f"the {count}-tenant point failed (exit {done.returncode}); "
                        f"see {point_dir}/locust-{point_name}.log"
                    )
                points.append(point(json.loads(result.read_text(encoding="utf-8")), result, done.returncode))
                last = points[-1]
                typer.echo(
                    f"  achieved {last['rps']:.1f} of {last['offered_rps']:.1f} req/s, avg {last['avg_ms']:.1f} ms, "
                    f"p95 {last['p95_ms']:.1f} ms, p99 {last['p99_ms']:.1f} ms, "
                    f"{'within' if last['served'] else 'outside'} SLOs"
                )
        parameters = {
            "tenant_counts": counts,
            "tenant_rps": tenant_rps,
            "run_time": run_time,
            "warmup": warmup,
            "processes": processes,
            "faults": faults,
            "started_at": started_at,
        }
        document = scale_document(points, parameters, opened.identity)
    finally:
        opened.close()
    results = document.pop("_results")
    path = results_dir / f"load-{name}.json"
    writer = ResultWriter(results_dir, f"load-{name}", document["target"], run_id)
    path.write_text(json.dumps(writer.stamp(document), indent=1) + "\n", encoding="utf-8")
    write_records(document, results, writer, path)
    typer.echo(f"bench scale: {path} written; verdict {document['verdict']}")
    if document["exit_code"]:
        raise typer.Exit(document["exit_code"])
