"""Each scenario runs for seconds against the reference app; its result document is complete and consistent.

These runs prove the machinery (tenants bound to users, offered vs achieved, microsecond
histograms, 429s apart, SLO records, exit codes, distributed merge), never performance: a
short run on a busy 2-core machine may miss a latency SLO, so latency verdicts are only
checked to agree with the exit code.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tenantprobe.exitcodes import ExitCode
from tenantprobe.load.result import schema
from tests.load.conftest import ROOT, LoadRun, LoadTarget, locust_command, run_locust

REPORT_SCHEMA = ROOT / "reports" / "load-result.schema.json"
SLO_EXIT = ExitCode.FAIL


def assert_complete_and_consistent(run: LoadRun) -> dict[str, Any]:
    __tracebackhide__ = True
    document = run.document
    jsonschema.validate(document, schema())
    if REPORT_SCHEMA.is_file():  # the report's reader must accept what we write
        jsonschema.validate(document, json.loads(REPORT_SCHEMA.read_text()))
    failed = [slo for slo in document["slos"] if slo["status"] == "fail"]
    assert document["verdict"] == ("fail" if failed else "pass")
    assert document["exit_code"] == (SLO_EXIT if failed else 0)
    if failed:
        assert run.exit_code == SLO_EXIT, run.output
    else:
        assert run.exit_code == ExitCode.PASS, run.output  # failed requests are judged by the SLOs, not by locust
    rows = document["per_tenant"]
    assert len(rows) == document["tenants"]
    totals = document["totals"]
    for key in ("offered", "requests", "ok", "errors", "throttled_429", "refused"):
        assert sum(row[key] for row in rows) == totals[key], key
        assert sum(phase[key] for row in rows for phase in row["phases"].values()) == totals[key], key
    assert totals["requests"] == totals["ok"] + totals["errors"] + totals["throttled_429"] + totals["refused"]
    series = document["timeseries"]
    assert sum(series["ok"]) == totals["ok"]
    assert sum(series["throttled_429"]) == totals["throttled_429"]
    assert sum(series["errors"]) == totals["errors"]
    assert sum(sum(values) for values in series["ok_by_tenant"].values()) == totals["ok"]
    assert sum(point["rps"] for point in document["throughput_series"] if "tenant" not in point) == totals["ok"]
    for row in rows:
        latency = row["latency_us"]
        assert latency["count"] == row["ok"]
        if latency["count"]:
            assert latency["min_us"] <= latency["p50_us"] <= latency["p95_us"] <= latency["p99_us"] <= latency["max_us"]
            assert latency["min_us"] <= latency["avg_us"] <= latency["max_us"]
        if row["paced"] and row["offered"]:
            # counted by sending time: an arrival due just before the window may be sent inside it
            assert row["ok"] <= row["offered"] + row["users"]
    operation_counts = sum(op["count"] for op in document["operations"].values())
    assert operation_counts == totals["ok"]
    stats = {(s["method"], s["name"]): s for s in run.locust_stats()}
    # locust saw every request we counted (and the ones outside the measurement window)
    assert 0 < totals["requests"] <= sum(s["num_requests"] for s in stats.values())
    for control_id in {slo["control_id"] for slo in document["slos"]}:
        record = run.record(control_id)
        statuses = {slo["status"] for slo in document["slos"] if slo["control_id"] == control_id}
        assert (record["status"] == "fail") == ("fail" in statuses)
        if record["status"] == "not_assessed":
            assert record["reason"], record
    return document


def test_steady_tenants_each_drive_their_own_tenant(load_target: LoadTarget, tmp_path: Path) -> None:
    run = run_locust(
        tmp_path, "steady", "SteadyTenant", *load_target.options, "-t", "4s", "--tenants", "4",
        "--tenant-rps", "3", "--seed-objects", "3",
    )  # fmt: skip
    document = assert_complete_and_consistent(run)
    assert document["generator"]["mode"] == "standalone"
    assert [row["users"] for row in document["per_tenant"]] == [1, 1, 1, 1]
    assert {row["role"] for row in document["per_tenant"]} == {"steady"}
    assert len({row["tenant_id"] for row in document["per_tenant"]}) == 4
    assert set(document["operations"]) <= {"list", "read", "search", "create", "update"}
    assert document["fairness"]["tenants"] == 4
    assert document["resource_summary"]["available"] is True
    assert "api" in document["resource_summary"]["groups"]
    assert run.record("PERF-AVG-RESPONSE")["status"] in ("pass", "fail")
    concurrent = [slo for slo in document["slos"] if slo["criterion"] == "concurrent_tenants"]
    assert [(slo["status"], "needs at least 100" in slo["reason"]) for slo in concurrent] == [("not_assessed", True)]
    assert "concurrent_tenants" not in document["metrics"], "a 4-tenant run must not claim the 100-tenant metric"


def test_burst_tenant_unpaced_reports_its_rate(load_target: LoadTarget, tmp_path: Path) -> None:
    run = run_locust(
        tmp_path, "burst", "BurstTenant", *load_target.options, "-t", "4s", "--burst-rps", "0",
        "--burst-users", "3",
    )  # fmt: skip
    document = assert_complete_and_consistent(run)
    (row,) = document["per_tenant"]
    assert row["role"] == "burst"
    assert row["users"] == 3
    assert row["paced"] is False
    assert row["offered"] == row["requests"], "an unpaced tenant offers exactly what it sends"
    throughput = run.record("PERF-TENANT-THROUGHPUT")
    assert throughput["status"] in ("pass", "fail")
    assert throughput["measured"]["tenant_rps"] == pytest.approx(row["achieved_rps"], abs=0.01)


def test_provisioning_under_load_times_each_new_tenant(load_target: LoadTarget, tmp_path: Path) -> None:
    run = run_locust(
        tmp_path, "provisioning", "LoadedTenant", "Onboarder", *load_target.options, "-t", "4s",
        "--tenants", "2", "--tenant-rps", "2", "--provision-count", "2", "--provision-interval", "1",
        "--seed-objects", "2",
    )  # fmt: skip
    document = assert_complete_and_consistent(run)
    provisioning = document["provisioning"]
    assert provisioning["count"] == 2
    assert provisioning["failed"] == 0
    for sample in provisioning["samples"]:
        assert 0 < sample["provision_s"] <= sample["ready_s"]
    assert run.record("OPS-PROVISIONING-TIME")["status"] == "pass"
    assert document["metrics"]["provisioning_seconds_p95"] == provisioning["ready_seconds"]["p95"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_distributed_master_merges_every_workers_tenants(load_target: LoadTarget, tmp_path: Path) -> None:
    port = str(_free_port())
    workers = [
        subprocess.Popen(
            locust_command("--worker", "--master-host", "127.0.0.1", "--master-port", port),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        # 8 s, not 4: each worker spawns its users only after the plan reached it, which takes
        # seconds on a loaded machine, and a tenant that sent nothing in the window fails the check
        run = run_locust(
            tmp_path, "steady", "SteadyTenant", "--master", "--master-bind-host", "127.0.0.1",
            "--master-bind-port", port, "--expect-workers", "2", *load_target.options, "-t", "8s",
            "--tenants", "4", "--tenant-rps", "3", "--seed-objects", "2",
        )  # fmt: skip
    finally:
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    document = assert_complete_and_consistent(run)
    generator = document["generator"]
    assert (generator["mode"], generator["workers"], generator["workers_missing"]) == ("distributed", 2, [])
    assert [row["users"] for row in document["per_tenant"]] == [1, 1, 1, 1], "each tenant on exactly one worker"
    assert all(row["ok"] > 0 for row in document["per_tenant"])


def test_unnamed_classes_mixing_scenarios_stop_with_the_fix(tmp_path: Path) -> None:
    run = run_locust(tmp_path, "steady", "-t", "2s")
    assert run.exit_code == 4, run.output
    assert "name the user classes of exactly one scenario" in run.output
    assert "locust -f scenarios SteadyTenant" in run.output


def test_bad_option_names_the_operation_and_stops_before_the_target_starts(tmp_path: Path) -> None:
    run = run_locust(tmp_path, "steady", "SteadyTenant", "-t", "2s", "--mix", "lsit=10")
    assert run.exit_code == 4, run.output
    assert "--mix 'lsit=10': no operation 'lsit'" in run.output
    assert not (tmp_path / "logs").exists(), "no target was launched"
