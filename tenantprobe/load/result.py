"""The load result document: ``results/load-<scenario>.json``.

:func:`build_document` turns merged per-tenant statistics (:mod:`tenantprobe.load.stats`)
into the JSON the report reads. The document follows the report's reader schema
(``reports/load-result.schema.json``: ``schema``, ``scenario``, ``metrics``, ``per_tenant``,
``throughput_series``, ``resources``, ``scalability``) and adds the detail it does not ask
for (offered vs achieved per tenant and phase, microsecond latencies, 429s, fairness, the
time series, the SLO verdicts). ``tenantprobe/load/result.schema.json`` is its full schema;
``scenarios/README.md`` explains every field. :mod:`tenantprobe.load.slo` fills in
``metrics``, ``slos``, ``verdict`` and ``exit_code``.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import Any

from tenantprobe.load.stats import MergedStats, Phase, PhaseCounts, jain_index, rate, ratio

SCHEMA_ID = "tenantprobe.load/1"  # the report's reader: reports/load-result.schema.json
SERIES_TENANT_LIMIT = 200
_ZERO = [0, 0, 0, 0]

# ---------------------------------------------------------------------------- document


def _counts_view(counts: PhaseCounts, seconds: float) -> dict[str, Any]:
    return {
        "active_seconds": round(seconds, 3),
        "offered": counts.offered,
        "requests": counts.requests,
        "ok": counts.ok,
        "errors": counts.errors,
        "throttled_429": counts.throttled,
        "throttled_without_retry_after": counts.throttled_without_retry_after,
        "refused": counts.refused,
        "offered_rps": rate(counts.offered, seconds),
        "achieved_rps": rate(counts.ok, seconds),
        "achieved_ratio": ratio(counts.ok, counts.offered),
        "error_rate": round(counts.errors / counts.requests, 6) if counts.requests else 0.0,
        "latency_us": counts.latency.summary(),
        # How late requests were sent against the Poisson schedule: the generator falling behind
        # (closed loop) shows here; latency_us is the service time of the requests that were sent.
        "schedule_lag_us": counts.lag.summary(),
    }


def _phase_bounds(phases: list[Phase], start: float, end: float) -> dict[str, tuple[float, float]]:
    bounds = {}
    for index, phase in enumerate(phases):
        phase_end = start + phases[index + 1].offset if index + 1 < len(phases) else end
        bounds[phase.name] = (min(start + phase.offset, end), min(phase_end, end))
    return bounds


def _aggregate(views: list[tuple[PhaseCounts, float]]) -> dict[str, Any]:
    total = PhaseCounts()
    seconds = max((s for _, s in views), default=0.0)
    for counts, _ in views:
        total.merge(counts)
    return _counts_view(total, seconds)


def _series(values: dict[int, int], length: int) -> list[int]:
    return [values.get(second, 0) for second in range(length)]


def _latency_ms(latency: dict[str, Any]) -> dict[str, float]:
    """The report's per-tenant latency shape: milliseconds, numbers only."""
    if not latency["count"]:
        return {}
    return {
        "mean": latency["avg_us"] / 1000,
        "p50": latency["p50_us"] / 1000,
        "p95": latency["p95_us"] / 1000,
        "p99": latency["p99_us"] / 1000,
        "max": latency["max_us"] / 1000,
    }


def build_document(
    *,
    scenario: str,
    merged: MergedStats,
    tenants: list[dict[str, Any]],
    window: tuple[float, float],
    phases: list[Phase],
    parameters: dict[str, Any],
    target: dict[str, Any],
    generator: dict[str, Any],
    fairness: dict[str, Any],
    resources: dict[str, Any],
    provisioning: dict[str, Any] | None = None,
    flooder: dict[str, Any] | None = None,
    started_at: str,
    finished_at: str,
) -> dict[str, Any]:
    """The load result document; ``tenants`` lists every planned tenant (key, tenant_id, slug, role).

    ``metrics``, ``slos``, ``verdict`` and ``exit_code`` are filled in by :func:`evaluate`.
    """
    start, end = window
    seconds = max(end - start, 0.0)
    bounds = _phase_bounds(phases, start, end)
    # completions may land up to the drain after the window's end: the series keeps them
    length = max([math.floor(seconds) + 1, *(second + 1 for second in merged.totals_per_second)])
    rows: list[dict[str, Any]] = []
    by_role: dict[str, list[dict[str, tuple[PhaseCounts, float]]]] = {}
    all_views: list[tuple[PhaseCounts, float]] = []
    for meta in tenants:
        stats = merged.tenants.get(meta["key"])
        first = stats.first_active if stats and stats.first_active is not None else None
        per_phase: dict[str, tuple[PhaseCounts, float]] = {}
        for phase in phases:
            lo, hi = bounds[phase.name]
            active = 0.0 if first is None else max(0.0, hi - max(lo, first))
            counts = stats.phases.get(phase.name, PhaseCounts()) if stats else PhaseCounts()
            per_phase[phase.name] = (counts, active)
        whole = _sum_phases(per_phase)
        active_total = 0.0 if first is None else max(0.0, end - max(start, first))
        view = _counts_view(whole, active_total)
        # A flooder's 429s are what it asked for; for every other tenant a 429 is a failure.
        failures = view["errors"] + (0 if meta["role"] == "flooder" else view["throttled_429"])
        rows.append(
            {
                "tenant": meta["slug"],
                "key": meta["key"],
                "tenant_id": meta["tenant_id"],
                "role": meta["role"],
                "users": stats.users if stats else 0,
                "paced": stats.paced if stats else True,
                "failures": failures,
                "rps": view["achieved_rps"],
                "latency_ms": _latency_ms(view["latency_us"]),
                **view,
                "phases": {name: _counts_view(c, s) for name, (c, s) in per_phase.items()},
                "error_samples": stats.error_samples if stats else [],
            }
        )
        by_role.setdefault(meta["role"], []).append(per_phase)
        all_views.append((whole, active_total))
    roles = {}
    for role, members in by_role.items():
        role_phases = {phase.name: _aggregate([per_phase[phase.name] for per_phase in members]) for phase in phases}
        whole_role = _aggregate([(_sum_phases(per_phase), _span(per_phase)) for per_phase in members])
        roles[role] = {**whole_role, "tenants": len(members), "phases": role_phases}
    totals = _aggregate(all_views)
    totals.update(
        active_seconds=round(seconds, 3),
        offered_rps=rate(totals["offered"], seconds),
        achieved_rps=rate(totals["ok"], seconds),
    )
    per_second = merged.totals_per_second
    fair_rows = [
        row
        for row in rows
        if row["role"] in fairness["roles"] and _pick(row, fairness["phase"])["achieved_ratio"] is not None
    ]
    jain = jain_index(_pick(row, fairness["phase"])["achieved_ratio"] for row in fair_rows)
    ok_series = [per_second.get(s, _ZERO)[0] for s in range(length)]
    by_tenant = {key: _series(stats.ok_per_second, length) for key, stats in sorted(merged.tenants.items())}
    slugs = {meta["key"]: meta["slug"] for meta in tenants}
    throughput = [{"t": float(t), "rps": float(n)} for t, n in enumerate(ok_series)]
    if len(by_tenant) <= SERIES_TENANT_LIMIT:
        throughput += [
            {"t": float(t), "rps": float(n), "tenant": slugs.get(key, key)}
            for key, values in by_tenant.items()
            for t, n in enumerate(values)
        ]
    samples = resources.get("samples", [])
    memory_total = resources.get("memory_total_bytes") or 1
    return {
        "schema": SCHEMA_ID,
        "scenario": scenario,
        "started_at": started_at,
        "finished_at": finished_at,
        "duration_s": round(seconds, 3),
        "tenants": len(tenants),
        "users": sum(row["users"] for row in rows),
        "target": target,
        "parameters": parameters,
        "generator": generator,
        "metrics": {},
        "per_tenant": rows,
        "throughput_series": throughput,
        "resources": [
            {
                "t": sample["t"],
                "cpu_percent": sample["cpu_percent"]["total"],
                "memory_percent": round(100 * sample["rss_bytes"]["total"] / memory_total, 3),
                "memory_mb": round(sample["rss_bytes"]["total"] / 2**20, 1),
                "by_component": {
                    name: {"cpu_percent": value, "memory_mb": round(sample["rss_bytes"][name] / 2**20, 1)}
                    for name, value in sample["cpu_percent"].items()
                    if name != "total"
                },
            }
            for sample in samples
        ],
        "resource_summary": {key: value for key, value in resources.items() if key != "samples"},
        "window": {"start": start, "end": end, "seconds": round(seconds, 3)},
        "phases": [
            {
                "name": phase.name,
                "start_offset_s": round(bounds[phase.name][0] - start, 3),
                "end_offset_s": round(bounds[phase.name][1] - start, 3),
            }
            for phase in phases
        ],
        "totals": totals,
        "roles": roles,
        "operations": {name: histogram.summary() for name, histogram in sorted(merged.operations.items())},
        "fairness": {
            "metric": "achieved/offered",
            "roles": list(fairness["roles"]),
            "phase": fairness["phase"],
            "tenants": len(fair_rows),
            "jain_index": None if jain is None else round(jain, 6),
        },
        "timeseries": {
            "interval_s": 1,
            "start": start,
            "ok": ok_series,
            "throttled_429": [per_second.get(s, _ZERO)[1] for s in range(length)],
            "errors": [per_second.get(s, _ZERO)[2] for s in range(length)],
            "refused": [per_second.get(s, _ZERO)[3] for s in range(length)],
            "ok_by_tenant": by_tenant,
        },
        "provisioning": provisioning,
        "flooder": flooder,
        "slos": [],
        "verdict": None,
        "exit_code": None,
    }


def _sum_phases(per_phase: dict[str, tuple[PhaseCounts, float]]) -> PhaseCounts:
    total = PhaseCounts()
    for counts, _ in per_phase.values():
        total.merge(counts)
    return total


def _span(per_phase: dict[str, tuple[PhaseCounts, float]]) -> float:
    return sum(seconds for _, seconds in per_phase.values())


def _pick(row: dict[str, Any], phase: str) -> dict[str, Any]:
    return row if phase == "all" else row["phases"][phase]


@cache
def schema() -> dict[str, Any]:
    text = resources.files("tenantprobe.load").joinpath("result.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate(document: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` if the document does not follow the schema."""
    import jsonschema

    jsonschema.validate(document, schema())
