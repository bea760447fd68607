"""Per-tenant statistics (tenantprobe/load/stats.py) and SLO verdicts (tenantprobe/load/slo.py), as pure logic."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from tenantprobe.errors import ProfileError
from tenantprobe.load.result import build_document, schema
from tenantprobe.load.slo import Criteria, evaluate, exit_code, parse_slo_overrides
from tenantprobe.load.stats import (
    COUNTERS,
    LatencyHistogram,
    LoadCollector,
    Phase,
    PhaseCounts,
    jain_index,
    merge_wires,
    percentile,
    summary,
)

T0 = 1_000_000.0


def test_histogram_keeps_microseconds_exact_where_it_can() -> None:
    histogram = LatencyHistogram()
    for micros in (1_234, 5_678, 90_001):
        histogram.record(micros)
    summary = histogram.summary()
    assert (summary["count"], summary["min_us"], summary["max_us"]) == (3, 1_234, 90_001)
    assert summary["avg_us"] == pytest.approx((1_234 + 5_678 + 90_001) / 3, abs=0.1)
    assert summary["p50_us"] == pytest.approx(5_678, rel=0.001)
    assert summary["p99_us"] == 90_001  # never above the exact maximum


def test_histogram_survives_the_wire_and_merges() -> None:
    a, b = LatencyHistogram(), LatencyHistogram()
    for micros in range(1_000, 2_000):
        a.record(micros)
    for micros in range(3_000, 4_000):
        b.record(micros)
    merged = LatencyHistogram.from_wire(json.loads(json.dumps(a.to_wire())))
    merged.merge(LatencyHistogram.from_wire(b.to_wire()))
    assert merged.count == 2_000
    assert merged.percentile(25) == pytest.approx(1_500, rel=0.002)
    assert merged.percentile(75) == pytest.approx(3_500, rel=0.002)
    assert (merged.min_us, merged.max_us) == (1_000, 3_999)


def test_phase_counts_merge_and_survive_the_wire_counter_by_counter() -> None:
    a, b = PhaseCounts(), PhaseCounts()
    for i, name in enumerate(COUNTERS):
        setattr(a, name, i + 1)
        setattr(b, name, 10 * (i + 1))
    a.latency.record(1_000)
    b.lag.record(2_000)
    merged = PhaseCounts.from_wire(json.loads(json.dumps(a.to_wire())))
    merged.merge(PhaseCounts.from_wire(b.to_wire()))
    assert {name: getattr(merged, name) for name in COUNTERS} == {name: 11 * (i + 1) for i, name in enumerate(COUNTERS)}
    assert (merged.latency.count, merged.lag.count) == (1, 1)
    assert "throttled_without_retry_after" in COUNTERS
    assert "latency" not in COUNTERS


def test_percentile_is_nearest_rank_and_always_a_sample() -> None:
    samples = [float(n) for n in range(1, 21)]  # 1..20
    assert percentile(samples, 95) == 19.0  # ceil(0.95 * 20) = 19th smallest
    assert percentile(samples, 50) == 10.0
    assert percentile(samples, 100) == 20.0
    assert percentile([3.0], 95) == 3.0
    assert summary([]) is None
    assert summary([0.2, 0.1, 0.4]) == {"count": 3, "avg": 0.233333, "p50": 0.2, "p95": 0.4, "max": 0.4}
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)


def test_jain_index_is_one_when_fair_and_one_over_n_when_one_takes_all() -> None:
    assert jain_index([1.0, 1.0, 1.0, 1.0]) == 1.0
    assert jain_index([1.0, 0.0, 0.0, 0.0]) == pytest.approx(0.25)
    assert jain_index([]) is None


def test_collector_counts_by_sending_time_keeps_lag_and_429_apart() -> None:
    collector = LoadCollector(T0, [Phase("baseline", 0.0), Phase("noisy", 10.0)], window_end=T0 + 20, drain=1.0)
    collector.join("q", T0 - 5)
    collector.offer("q", T0 - 1)  # warm-up: not counted
    collector.offer("q", T0 + 1)
    collector.offer("q", T0 + 12)
    collector.record("q", "read", start=T0 + 1.2, duration_ms=2.5, status=200, intended=T0 + 1)  # 0.2 s late
    collector.record("q", "read", start=T0 + 12.1, duration_ms=1.0, status=429, failed=True, retry_after=False)
    collector.record("q", "read", start=T0 + 19.99, duration_ms=500, status=200, intended=T0 + 19.99)  # in drain
    collector.record("q", "read", start=T0 + 19.99, duration_ms=5000, status=200, intended=T0 + 19.99)  # too late
    collector.record("q", "read", start=T0 - 0.5, duration_ms=1.0, status=200)  # warm-up
    merged = merge_wires([collector.close(T0 + 30)])
    stats = merged.tenants["q"]
    assert stats.first_active == T0
    baseline, noisy = stats.phases["baseline"], stats.phases["noisy"]
    assert (baseline.offered, baseline.ok, baseline.latency.summary()["min_us"]) == (1, 1, 2_500)
    assert baseline.lag.summary()["max_us"] == pytest.approx(200_000, rel=0.001)
    assert (noisy.offered, noisy.requests, noisy.throttled, noisy.throttled_without_retry_after) == (1, 2, 1, 1)
    assert noisy.errors == 0
    assert sum(sum(v) for v in merged.totals_per_second.values()) == baseline.requests + noisy.requests


def _document(quiet_p95: tuple[int, int], quiet_429: int, flood_429: int, attempts: int = 500) -> dict[str, Any]:
    collector = LoadCollector(T0, [Phase("baseline", 0.0), Phase("noisy", 10.0)], window_end=T0 + 20)
    for key in ("quiet-0000", "quiet-0001"):
        collector.join(key, T0)
        for second in range(20):
            moment = T0 + second + 0.5
            collector.offer(key, moment)
            latency = quiet_p95[0] if second < 10 else quiet_p95[1]
            collector.record(key, "read", start=moment, duration_ms=latency / 1000, status=200, intended=moment)
        for index in range(quiet_429):
            collector.offer(key, T0 + 15 + index / 100)
            collector.record(key, "read", start=T0 + 15 + index / 100, duration_ms=1, status=429, failed=True)
    collector.join("flooder-0000", T0 + 10, paced=False)
    for index in range(attempts):
        moment = T0 + 10 + index * 9 / attempts
        collector.offer("flooder-0000", moment)
        status = 429 if index < flood_429 else 200
        collector.record("flooder-0000", "read", start=moment, duration_ms=1, status=status)
    tenants = [
        {"key": key, "tenant_id": f"id-{key}", "slug": f"slug-{key}", "role": key.split("-")[0]}
        for key in ("quiet-0000", "quiet-0001", "flooder-0000")
    ]
    return build_document(
        scenario="noisy-neighbour",
        merged=merge_wires([collector.close(T0 + 30)]),
        tenants=tenants,
        window=(T0, T0 + 20),
        phases=[Phase("baseline", 0.0), Phase("noisy", 10.0)],
        parameters={},
        target={"name": "unit"},
        generator={"mode": "standalone"},
        fairness={"roles": ("quiet",), "phase": "noisy"},
        resources={"available": False, "reason": "unit test"},
        flooder={"rate_limit_rps": 20.0, "burst": 40.0, "storage_limit": 10.0, "storage_used_end": 10.0},
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:00:20+00:00",
    )


def _status(results: list[Any], control_id: str) -> set[str]:
    return {r.status for r in results if r.control_id == control_id}


def test_contained_flooder_passes_the_noisy_neighbour_checks() -> None:
    document = _document(quiet_p95=(2_000, 3_000), quiet_429=0, flood_429=450)
    results = evaluate(document)
    jsonschema.validate(document, schema())
    assert document["metrics"]["quiet_p95_ratio"] == pytest.approx(1.5, rel=0.01)
    assert _status(results, "PERF-NOISY-NEIGHBOUR") == {"pass"}
    assert _status(results, "OPS-RATE-LIMIT-PER-TENANT") == {"pass"}
    assert exit_code(results) is None


def test_throttled_quiet_tenants_and_slow_ones_fail_with_exit_1() -> None:
    document = _document(quiet_p95=(2_000, 9_000), quiet_429=5, flood_429=450)
    results = evaluate(document)
    assert "fail" in _status(results, "PERF-NOISY-NEIGHBOUR")
    failing = {r.criterion for r in results if r.status == "fail"}
    assert {"quiet_p95_ratio", "quiet_throttled_429", "quiet_achieved_ratio_min"} <= failing
    assert exit_code(results) == 1  # FAIL in tenantprobe.exitcodes
    assert document["verdict"] == "fail"


def test_a_flooder_that_never_exceeded_its_limit_cannot_prove_the_limit() -> None:
    document = _document(quiet_p95=(2_000, 2_000), quiet_429=0, flood_429=0, attempts=100)
    results = evaluate(document)
    (primary,) = [r for r in results if r.criterion == "flooder_throttled_429"]
    assert primary.status == "not_assessed"
    assert "within its plan" in primary.reason


def test_slo_overrides_name_catalogue_metrics_only() -> None:
    assert parse_slo_overrides("PERF-P95-RESPONSE=80, PERF-AVG-RESPONSE=40") == {
        "PERF-P95-RESPONSE": 80.0,
        "PERF-AVG-RESPONSE": 40.0,
    }
    with pytest.raises(ProfileError, match="Did you mean 'PERF-P95-RESPONSE'"):
        parse_slo_overrides("PERF-P59-RESPONSE=80")
    with pytest.raises(ProfileError, match="not a load metric"):
        parse_slo_overrides("API-CROSS-TENANT-READ=1")
    with pytest.raises(ProfileError, match="expected CONTROL=THRESHOLD"):
        parse_slo_overrides("PERF-P95-RESPONSE")


def test_criteria_thresholds_come_from_options() -> None:
    document = _document(quiet_p95=(2_000, 2_000), quiet_429=0, flood_429=450)
    results = evaluate(document, criteria=Criteria(min_fairness=1.01))
    (fairness,) = [r for r in results if r.criterion == "quiet_jain_index"]
    assert (fairness.status, fairness.threshold_source) == ("fail", "option")
