"""The success-metric table: one row per success metric of the phase document.

Each row has a target, the measured value and a status: ``met``, ``not_met``,
``incomplete`` (what was measured meets the target but part of what the metric covers was
not assessed, so it cannot be called met) or ``not_assessed`` (the run measured nothing).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from reports._model import ControlResult, LoadResult
from reports._scoring import AUDIT_TARGET, MEDIUM_LIMIT, Score
from tenantprobe.controls import Catalogue

MEMORY_LIMIT = 80.0  # resource utilisation target: < 80 % memory per tenant


@dataclass
class MetricRow:
    key: str
    title: str
    target: str
    measured: str
    status: str
    value: float | None = None
    note: str = ""
    controls: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Metric rows read from one catalogue control's measured value.
VALUE_CONTROLS = {
    "response_time": "PERF-AVG-RESPONSE",
    "throughput": "PERF-TENANT-THROUGHPUT",
    "scalability": "PERF-CONCURRENT-TENANTS",
    "provisioning_time": "OPS-PROVISIONING-TIME",
    "maintenance_window": "OPS-MAINTENANCE-WINDOW",
    "monitoring_coverage": "OPS-MONITORING-COVERAGE",
    "documentation_coverage": "OPS-DOCUMENTATION-COVERAGE",
}


def _status(ok: bool, complete: bool) -> str:
    if not ok:
        return "not_met"
    return "met" if complete else "incomplete"


def _percent(value: float) -> str:
    # Never round a leak away: 99.9996 % must not print as 100.0 %.
    text = f"{value:.1f}"
    if text in ("100.0", "0.0") and value not in (100.0, 0.0):
        return f"{value:.4f}%"
    return f"{text}%"


def _isolation_score(results: list[ControlResult]) -> MetricRow:
    """Blocked / judged cross-tenant attempts: only what a positive control made judgeable counts.

    Canary scans (responses, not attempts) and control-level pass/fail records without
    ``measured.attempts`` count nothing, so they can neither dilute a leak nor make 100 % out of
    nothing; without a judged attempt the metric is not assessed.
    """
    isolation = [r for r in results if r.control.isolation and r.status != "not_applicable"]
    attempts = blocked = 0
    for result in isolation:
        n, b = result.attempts
        attempts += n
        blocked += b
    inconclusive = sum(r.tally.inconclusive for r in isolation)
    missing = [r.control.id for r in isolation if not r.assessed]
    failed = [r.control.id for r in isolation if r.failed]
    row = MetricRow("tenant_isolation_score", "", "", "", "not_assessed", controls=[r.control.id for r in isolation])
    if not attempts:
        row.note = "no judged cross-tenant attempt was recorded (canary scans and control-level results do not count)"
        if failed:
            row.status, row.note = "not_met", f"{row.note}; isolation control(s) failed: {', '.join(failed)}"
        return row
    value = 100.0 * blocked / attempts
    row.value = value
    row.measured = f"{_percent(value)} ({blocked:,} of {attempts:,} judged cross-tenant attempts blocked)"
    row.status = _status(blocked == attempts and not failed, not missing)
    leaks = attempts - blocked
    notes = [f"{leaks:,} attempt(s) got through"] if leaks else []
    if failed and not leaks:
        notes.append(f"isolation control(s) failed: {', '.join(failed)}")
    if inconclusive:
        notes.append(f"{inconclusive:,} attempt(s) not judged (their positive control did not succeed)")
    if missing:
        notes.append(f"{len(missing)} isolation control(s) not assessed: {', '.join(missing)}")
    row.note = "; ".join(notes)
    return row


def _audit_score(result_score: Score) -> MetricRow:
    value = result_score.security_audit_score
    measured = result_score.measured_score
    row = MetricRow("security_audit_score", "", "", f"{value:.1f}/100", "not_assessed", value)
    if measured is None:
        row.note = "no control was assessed"
        return row
    row.status = "met" if value > AUDIT_TARGET else _status(measured > AUDIT_TARGET, False)
    row.note = (
        f"fail closed: controls not assessed or in error count 0; the assessed controls alone score "
        f"{measured:.1f}/100 (coverage {result_score.coverage:.0f}%)"
    )
    return row


def _vulnerabilities(results: list[ControlResult], result_score: Score) -> MetricRow:
    v = result_score.vulnerabilities
    measured = ", ".join(f"{v[s]} {s}" for s in ("critical", "high", "medium", "low"))
    ok = v["critical"] == 0 and v["medium"] < MEDIUM_LIMIT
    unassessed = sum(1 for r in results if not r.assessed and r.status not in ("not_applicable", "waived"))
    row = MetricRow("vulnerability_count", "", "", measured, "not_assessed", float(sum(v.values())))
    if result_score.measured_score is None:
        row.measured, row.value = "", None
        return row
    row.status = _status(ok, unassessed == 0)
    row.note = "failed controls by severity" + (f"; {unassessed} control(s) not assessed" if unassessed else "")
    return row


def _compliance(results: list[ControlResult]) -> MetricRow:
    isolation = [r for r in results if r.control.isolation and r.status not in ("not_applicable", "waived")]
    total = sum(r.control.weight for r in isolation)
    passed = sum(r.control.weight for r in isolation if r.status == "pass")
    assessed = [r for r in isolation if r.assessed]
    row = MetricRow("compliance_isolation", "", "", "", "not_assessed", controls=[r.control.id for r in isolation])
    if not assessed or not total:
        return row
    value = 100.0 * passed / total
    row.value = value
    failed = [r for r in isolation if r.status in ("fail", "error")]
    missing = [r for r in isolation if r.status == "not_assessed"]
    row.measured = f"{_percent(value)} of isolation control weight passes ({len(isolation) - len(missing)} assessed)"
    row.status = "not_met" if failed else _status(True, not missing)
    row.note = f"{len(missing)} isolation control(s) not assessed count 0" if missing else ""
    return row


def _value_row(key: str, control_id: str, by_id: dict[str, ControlResult]) -> MetricRow:
    result = by_id[control_id]
    measure = result.control.measure
    row = MetricRow(key, "", "", "", "not_assessed", controls=[control_id])
    if result.value is None or result.status in ("not_assessed", "not_applicable", "error"):
        row.note = result.reason
        return row
    row.value = result.value
    unit = measure.unit or ""
    row.measured = f"{result.value:,.2f} {unit}".strip() if unit != "%" else _percent(result.value)
    row.status = {"pass": "met", "fail": "not_met", "waived": "not_met"}.get(result.status, "not_assessed")
    row.note = f"{control_id}: {measure.name} {measure.comparator} {measure.threshold:g} {unit}".rstrip()
    return row


def _resources(by_id: dict[str, ControlResult], load_results: list[LoadResult]) -> MetricRow:
    row = _value_row("resource_utilization", "PERF-RESOURCE-UTILIZATION", by_id)
    loads = [m for lr in load_results if (m := lr.metrics.get("memory_percent_max")) is not None]
    worst = by_id["PERF-RESOURCE-UTILIZATION"].tally.memory.after(loads)  # the load files', then the records'
    if row.value is None:
        return row
    row.measured = f"CPU {row.value:.1f}% peak"
    if worst is not None:
        row.measured += f", memory {worst:.1f}% peak"
        if worst >= MEMORY_LIMIT and row.status == "met":
            row.status = "not_met"
    else:
        row.note += "; memory not measured"
        if row.status == "met":
            row.status = "incomplete"
    return row


def metric_rows(
    catalogue: Catalogue, results: list[ControlResult], result_score: Score, load_results: list[LoadResult]
) -> list[MetricRow]:
    by_id = {r.control.id: r for r in results}
    rows = {
        "tenant_isolation_score": _isolation_score(results),
        "security_audit_score": _audit_score(result_score),
        "vulnerability_count": _vulnerabilities(results, result_score),
        "compliance_isolation": _compliance(results),
        "resource_utilization": _resources(by_id, load_results),
    }
    for key, control_id in VALUE_CONTROLS.items():
        rows[key] = _value_row(key, control_id, by_id)
    ordered = []
    for key, meta in catalogue.phase_metrics.items():
        row = rows.get(key) or MetricRow(key, "", "", "", "not_assessed", note="no measurement defined")
        row.title, row.target = meta["title"], meta["target"]
        if row.status == "not_assessed" and not row.measured:
            row.measured = "not assessed"
        ordered.append(row)
    return ordered
