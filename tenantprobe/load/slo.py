"""Service-level objectives of a load run: thresholds from the catalogue, verdicts, records, exit code.

:func:`evaluate` scores a load result document (:mod:`tenantprobe.load.result`) for its
scenario. A catalogue metric's threshold comes from ``catalogue.yaml`` unless ``--slo
CONTROL=VALUE`` overrides it; the criteria the catalogue does not state as thresholds
(achieved/offered, Jain's index, error rate, memory) come from :class:`Criteria`. A run
that could not measure a control says so (``not_assessed`` with the reason), never passes it.
:func:`write_records` writes one result record per control.

Exit codes of a load run (the table of :mod:`tenantprobe.exitcodes`), in order of precedence:

    4  the scenario could not run (target, provisioning, option or result error)
    2  locust or a user class crashed
    1  a service-level objective was violated (``--slo-exit-code``)
    0  every SLO held (failed requests are judged by the error-rate criteria, not by locust)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tenantprobe.controls import load_catalogue
from tenantprobe.errors import InternalError, ProfileError
from tenantprobe.exitcodes import ExitCode
from tenantprobe.records import ResultRecord, ResultWriter, Status

EXIT_SETUP_FAILED = ExitCode.COULD_NOT_RUN
EXIT_SLO_VIOLATED = ExitCode.FAIL
LOAD_CONTROLS = (
    "PERF-AVG-RESPONSE",
    "PERF-P95-RESPONSE",
    "PERF-TENANT-THROUGHPUT",
    "PERF-CONCURRENT-TENANTS",
    "PERF-RESOURCE-UTILIZATION",
    "PERF-NOISY-NEIGHBOUR",
    "OPS-RATE-LIMIT-PER-TENANT",
    "OPS-PROVISIONING-TIME",
)


@dataclass(frozen=True)
class Criteria:
    """Criteria the catalogue does not state as thresholds (they come from the issue and the options)."""

    min_achieved_ratio: float = 0.98
    min_fairness: float = 0.99
    max_error_rate: float = 0.001
    max_memory_percent: float = 80.0


def parse_slo_overrides(text: str) -> dict[str, float]:
    """``PERF-P95-RESPONSE=80,PERF-AVG-RESPONSE=50`` → thresholds by control id (ids checked)."""
    overrides: dict[str, float] = {}
    catalogue = load_catalogue()
    for item in filter(None, (part.strip() for part in text.split(","))):
        control_id, sep, value = item.partition("=")
        if not sep:
            raise ProfileError(f"--slo {item!r}: expected CONTROL=THRESHOLD, e.g. PERF-P95-RESPONSE=80")
        control = catalogue.get(control_id.strip())
        if control.measure.kind != "metric" or control.id not in LOAD_CONTROLS:
            raise ProfileError(f"--slo {control.id}: not a load metric; choose one of {', '.join(LOAD_CONTROLS)}")
        try:
            overrides[control.id] = float(value)
        except ValueError:
            raise ProfileError(f"--slo {item!r}: {value!r} is not a number") from None
    return overrides


# ---------------------------------------------------------------------------- SLOs


@dataclass
class SloResult:
    """One criterion: a catalogue metric (``control_id`` with its threshold) or an extra criterion."""

    control_id: str
    criterion: str
    comparator: str
    threshold: float
    threshold_source: str
    measured: float | None
    unit: str
    status: str
    reason: str = ""
    primary: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_COMPARE = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
}


@dataclass
class Evaluation:
    overrides: dict[str, float]
    criteria: Criteria
    results: list[SloResult] = field(default_factory=list)

    def threshold(self, control_id: str) -> float:
        """The threshold in force: the ``--slo`` override, else the catalogue's."""
        if control_id in self.overrides:
            return self.overrides[control_id]
        threshold = load_catalogue().get(control_id).measure.threshold
        if threshold is None:
            raise InternalError(f"{control_id} has no threshold in the catalogue")
        return threshold

    def metric(self, control_id: str, measured: float | None, reason: str = "") -> None:
        """The catalogue metric of ``control_id``; ``measured=None`` means not assessed (say why)."""
        measure = load_catalogue().get(control_id).measure
        assert measure.threshold is not None
        assert measure.comparator is not None
        assert measure.name is not None
        threshold = self.overrides.get(control_id, measure.threshold)
        source = "option" if control_id in self.overrides else "catalogue"
        self._add(control_id, measure.name, measure.comparator, threshold, source, measured, measure.unit or "", reason)

    def criterion(
        self,
        control_id: str,
        criterion: str,
        comparator: str,
        threshold: float,
        measured: float | None,
        unit: str = "",
        reason: str = "",
        primary: bool = False,
        source: str = "scenario",
    ) -> None:
        """A criterion beside the catalogue metric (``primary``: the one that stands for a check control);
        ``source`` says where its threshold comes from: ``scenario`` (fixed) or ``option``."""
        self._add(control_id, criterion, comparator, threshold, source, measured, unit, reason, primary=primary)

    def metric_check(self, control_id: str, criterion: str, measured: float | None, reason: str = "") -> None:
        """A check control's pass/fail criterion: ``measured`` must be 0."""
        self.criterion(control_id, criterion, "==", 0, measured, reason=reason, primary=True)

    def _add(
        self,
        control_id: str,
        criterion: str,
        comparator: str,
        threshold: float,
        source: str,
        measured: float | None,
        unit: str,
        reason: str,
        primary: bool = True,
    ) -> None:
        status = "not_assessed" if measured is None else "pass" if _COMPARE[comparator](measured, threshold) else "fail"
        value = None if measured is None else round(float(measured), 6)
        self.results.append(
            SloResult(control_id, criterion, comparator, threshold, source, value, unit, status, reason, primary)
        )


def _ms(latency: dict[str, Any], key: str) -> float | None:
    return latency[key] / 1000 if latency["count"] else None


def _role(document: dict[str, Any], role: str) -> dict[str, Any] | None:
    roles: dict[str, Any] = document["roles"]
    return roles.get(role)


def _tenants(document: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [row for row in document["per_tenant"] if row["role"] == role]


def _steady(document: dict[str, Any], ev: Evaluation, role: str = "steady") -> None:
    aggregate = _role(document, role)
    latency = aggregate["latency_us"] if aggregate else {"count": 0}
    why = "" if latency["count"] else "no request succeeded in the measurement window"
    ev.metric("PERF-AVG-RESPONSE", _ms(latency, "avg_us") if latency["count"] else None, why)
    ev.metric("PERF-P95-RESPONSE", _ms(latency, "p95_us") if latency["count"] else None, why)
    rows = _tenants(document, role)
    c = ev.criteria
    p95_limit = ev.threshold("PERF-P95-RESPONSE")
    avg_limit = ev.threshold("PERF-AVG-RESPONSE")

    def served(row: dict[str, Any]) -> bool:
        lat = row["latency_us"]
        return (
            row["achieved_ratio"] is not None
            and row["achieved_ratio"] >= c.min_achieved_ratio
            and row["error_rate"] <= c.max_error_rate
            and row["throttled_429"] == 0
            and lat["count"] > 0
            and lat["avg_us"] / 1000 < avg_limit
            and lat["p95_us"] / 1000 < p95_limit
        )

    meeting = sum(1 for row in rows if served(row))
    needed = ev.threshold("PERF-CONCURRENT-TENANTS")
    if len(rows) < needed:
        ev.metric(
            "PERF-CONCURRENT-TENANTS",
            None,
            f"the run had {len(rows)} tenants; this control needs at least {needed:g} (run with --tenants 120)",
        )
    else:
        ev.metric("PERF-CONCURRENT-TENANTS", meeting)
    # Every tenant of the run must be served: 110 of 120 is a run that failed 10 tenants.
    ev.criterion("PERF-CONCURRENT-TENANTS", "tenants_not_served", "==", 0, len(rows) - meeting)
    ratios = [row["achieved_ratio"] for row in rows if row["achieved_ratio"] is not None]
    ev.criterion(
        "PERF-CONCURRENT-TENANTS",
        "achieved_ratio_min",
        ">=",
        c.min_achieved_ratio,
        min(ratios, default=None),
        source="option",
    )
    ev.criterion(
        "PERF-CONCURRENT-TENANTS",
        "error_rate_max",
        "<=",
        c.max_error_rate,
        max((row["error_rate"] for row in rows), default=None),
        source="option",
    )
    ev.criterion("PERF-CONCURRENT-TENANTS", "throttled_429", "==", 0, sum(row["throttled_429"] for row in rows))
    _resources(document, ev)


def _resources(document: dict[str, Any], ev: Evaluation) -> None:
    res = document["resource_summary"]
    if not res.get("available"):
        ev.metric("PERF-RESOURCE-UTILIZATION", None, res.get("reason", "no app processes to sample"))
        return
    summary = res["summary"]
    ev.metric("PERF-RESOURCE-UTILIZATION", summary["cpu_percent_max"])
    ev.criterion(
        "PERF-RESOURCE-UTILIZATION",
        "memory_percent_max",
        "<",
        ev.criteria.max_memory_percent,
        summary["memory_percent_max"],
        "%",
        source="option",
    )


def _burst(document: dict[str, Any], ev: Evaluation) -> None:
    rows = _tenants(document, "burst")
    threshold = ev.threshold("PERF-TENANT-THROUGHPUT")
    if not rows:
        ev.metric("PERF-TENANT-THROUGHPUT", None, "no burst tenant ran")
        return
    row = rows[0]
    if row["paced"] and row["offered_rps"] <= threshold:
        ev.metric(
            "PERF-TENANT-THROUGHPUT",
            None,
            f"the burst offered only {row['offered_rps']} requests/s; offer more than {threshold:g} "
            "(--burst-rps 150, or 0 for as fast as possible)",
        )
        return
    ev.metric("PERF-TENANT-THROUGHPUT", row["achieved_rps"])
    ev.criterion(
        "PERF-TENANT-THROUGHPUT", "error_rate", "<=", ev.criteria.max_error_rate, row["error_rate"], source="option"
    )


def _noisy(document: dict[str, Any], ev: Evaluation) -> None:
    quiet = _role(document, "quiet")
    flood = _role(document, "flooder")
    c = ev.criteria
    if quiet is None or flood is None:
        for control_id in ("PERF-NOISY-NEIGHBOUR", "OPS-RATE-LIMIT-PER-TENANT"):
            ev.metric(control_id, None, "the run had no quiet tenant or no flooder")
        return
    base = quiet["phases"]["baseline"]["latency_us"]
    noisy = quiet["phases"]["noisy"]["latency_us"]
    if base["count"] == 0 or noisy["count"] == 0:
        ev.metric("PERF-NOISY-NEIGHBOUR", None, "the quiet tenants completed no request in the baseline or noisy phase")
    else:
        ev.metric("PERF-NOISY-NEIGHBOUR", noisy["p95_us"] / max(base["p95_us"], 1))
    ev.criterion(
        "PERF-NOISY-NEIGHBOUR",
        "quiet_jain_index",
        ">=",
        c.min_fairness,
        document["fairness"]["jain_index"],
        source="option",
    )
    _rate_limit(document, ev, quiet, flood)
    _storage_quota(document, ev, flood)


def _rate_limit(document: dict[str, Any], ev: Evaluation, quiet: dict[str, Any], flood: dict[str, Any]) -> None:
    """OPS-RATE-LIMIT-PER-TENANT: the flooder is throttled (429 + Retry-After), the quiet tenants never are."""
    info = document.get("flooder") or {}
    limit, burst = info.get("rate_limit_rps"), info.get("burst")
    attempted = flood["phases"]["noisy"]["requests"]
    seconds = flood["phases"]["noisy"]["active_seconds"]
    reason = ""
    measured: float | None = flood["throttled_429"]
    if limit is not None and burst is not None and attempted <= burst + limit * seconds:
        # The flooder never asked for more than its plan allows: nothing here can show a limit works.
        measured = None
        reason = (
            f"the flooder sent {attempted} requests in {seconds:.1f} s, within its plan's {limit:g}/s "
            f"(burst {burst:g}); lower the plan's rate limit or add --flood-users to exhaust it"
        )
    ev.criterion("OPS-RATE-LIMIT-PER-TENANT", "flooder_throttled_429", ">", 0, measured, reason=reason, primary=True)
    ev.criterion(
        "OPS-RATE-LIMIT-PER-TENANT", "flooder_429_without_retry_after", "==", 0, flood["throttled_without_retry_after"]
    )
    ev.criterion("OPS-RATE-LIMIT-PER-TENANT", "quiet_throttled_429", "==", 0, quiet["throttled_429"])
    rows = _tenants(document, "quiet")
    ratios = [
        r["phases"]["noisy"]["achieved_ratio"] for r in rows if r["phases"]["noisy"]["achieved_ratio"] is not None
    ]
    ev.criterion(
        "OPS-RATE-LIMIT-PER-TENANT",
        "quiet_achieved_ratio_min",
        ">=",
        ev.criteria.min_achieved_ratio,
        min(ratios, default=None),
        source="option",
    )
    if limit is not None and burst is not None:
        # A token bucket lets through at most its burst plus its rate times the elapsed time; one
        # second of slack covers the window's edges (the drain) and the server's own clock.
        accepted = flood["phases"]["noisy"]["ok"] + flood["phases"]["noisy"]["refused"]
        allowed = burst + limit * (seconds + 1)
        ev.criterion("OPS-RATE-LIMIT-PER-TENANT", "flooder_accepted_over_limit", "<=", 0, max(0.0, accepted - allowed))


def _storage_quota(document: dict[str, Any], ev: Evaluation, flood: dict[str, Any]) -> None:
    """OPS-QUOTA-ENFORCED under load: the flooder's storage never passes its plan's quota."""
    info = document.get("flooder") or {}
    used, limit = info.get("storage_used_end"), info.get("storage_limit")
    if used is None or limit is None:
        ev.metric_check("OPS-QUOTA-ENFORCED", "flooder_storage_over_quota", None, "the target reports no storage usage")
        return
    over = max(0.0, used - limit)
    if over == 0 and flood["refused"] == 0 and used < limit:
        ev.metric_check(
            "OPS-QUOTA-ENFORCED",
            "flooder_storage_over_quota",
            None,
            f"the flooder stored {used:g} of its {limit:g} and was never refused: it did not reach its quota",
        )
        return
    ev.metric_check("OPS-QUOTA-ENFORCED", "flooder_storage_over_quota", over)


def _provisioning(document: dict[str, Any], ev: Evaluation) -> None:
    prov = document.get("provisioning") or {}
    ready = prov.get("ready_seconds") or {}
    if not prov.get("count"):
        ev.metric("OPS-PROVISIONING-TIME", None, "no tenant was provisioned during the run")
        return
    ev.metric("OPS-PROVISIONING-TIME", ready.get("p95"))
    ev.criterion("OPS-PROVISIONING-TIME", "failed_provisionings", "==", 0, prov.get("failed", 0))


EVALUATORS = {"steady": _steady, "burst": _burst, "noisy-neighbour": _noisy, "provisioning": _provisioning}


def evaluate(
    document: dict[str, Any],
    overrides: dict[str, float] | None = None,
    criteria: Criteria | None = None,
    slo_exit_code: int = EXIT_SLO_VIOLATED,
) -> list[SloResult]:
    """Score the document of its scenario; fills in ``slos``, ``metrics``, ``verdict`` and ``exit_code``."""
    ev = Evaluation(overrides or {}, criteria or Criteria())
    EVALUATORS[document["scenario"]](document, ev)
    document["slos"] = [result.as_dict() for result in ev.results]
    # The report scores every catalogue-named metric it finds here, so only measured values go in.
    document["metrics"] = {r.criterion: r.measured for r in ev.results if r.measured is not None}
    document["metrics"].update(_extra_metrics(document))
    failed = any(result.status == "fail" for result in ev.results)
    document["verdict"] = "fail" if failed else "pass"
    document["exit_code"] = exit_code(ev.results, slo_exit_code) or 0
    return ev.results


def _extra_metrics(document: dict[str, Any]) -> dict[str, float]:
    """Figures beside the SLOs, named so the report cannot mistake them for catalogue metrics."""
    extra: dict[str, float] = {}
    totals = document["totals"]
    extra["offered_rps"] = totals["offered_rps"]
    extra["achieved_rps"] = totals["achieved_rps"]
    if document["fairness"]["jain_index"] is not None:
        extra["jain_index"] = document["fairness"]["jain_index"]
    for role, aggregate in document["roles"].items():
        latency = aggregate["latency_us"]
        if latency["count"]:
            for key in ("avg", "p50", "p95", "p99", "max"):
                extra[f"{role}_{key}_ms"] = latency[f"{key}_us"] / 1000
        if aggregate["schedule_lag_us"]["count"]:
            extra[f"{role}_schedule_lag_p99_ms"] = aggregate["schedule_lag_us"]["p99_us"] / 1000
        extra[f"{role}_achieved_rps"] = aggregate["achieved_rps"]
        if aggregate["achieved_ratio"] is not None:
            extra[f"{role}_achieved_ratio"] = aggregate["achieved_ratio"]
    summary = document["resource_summary"].get("summary") or {}
    if summary.get("sampled_seconds") and totals["requests"] and document["duration_s"]:
        served_while_sampled = totals["requests"] * min(1.0, summary["sampled_seconds"] / document["duration_s"])
        extra["app_cpu_ms_per_request"] = round(1000 * summary["cpu_core_seconds"] / max(served_while_sampled, 1), 3)
        generator = document["resource_summary"].get("generator") or {}
        if generator.get("cpu_core_seconds") is not None:
            extra["generator_cpu_ms_per_request"] = round(
                1000 * generator["cpu_core_seconds"] / max(served_while_sampled, 1), 3
            )
    if document["scenario"] == "noisy-neighbour" and "quiet" in document["roles"]:
        for phase in ("baseline", "noisy"):
            latency = document["roles"]["quiet"]["phases"][phase]["latency_us"]
            if latency["count"]:
                extra[f"quiet_{phase}_p95_ms"] = latency["p95_us"] / 1000
    return extra


def exit_code(results: Iterable[SloResult], slo_exit_code: int = EXIT_SLO_VIOLATED) -> int | None:
    """``slo_exit_code`` when an SLO failed, else None (locust then decides: 0, or 1 on request errors)."""
    return slo_exit_code if any(result.status == "fail" for result in results) else None


def write_records(
    document: dict[str, Any], results: list[SloResult], writer: ResultWriter, result_file: Path
) -> list[ResultRecord]:
    """One record per control: fail if any criterion failed, else the primary criterion's status."""
    catalogue = load_catalogue()
    records = []
    by_control: dict[str, list[SloResult]] = {}
    for result in results:
        by_control.setdefault(result.control_id, []).append(result)
    for control_id, items in by_control.items():
        control = catalogue.get(control_id)
        primary = next((r for r in items if r.primary), items[0])
        if any(r.status == "fail" for r in items):
            status = Status.FAIL
        elif primary.status == "not_assessed":
            status = Status.NOT_ASSESSED
        else:
            status = Status.PASS
        failing = [r for r in items if r.status == "fail"]
        summary = (
            "; ".join(f"{r.criterion} = {r.measured} (needs {r.comparator} {r.threshold:g})" for r in failing)
            if failing
            else f"{primary.criterion} = {primary.measured} ({primary.comparator} {primary.threshold:g} {primary.unit})"
        )
        record = ResultRecord(
            control_id=control_id,
            check_id=f"scenarios/{document['scenario']}::{control_id}",
            status=status,
            summary=summary if status != Status.NOT_ASSESSED else primary.reason,
            severity=control.severity,
            reason=primary.reason or None if status == Status.NOT_ASSESSED else None,
            measured={r.criterion: r.measured for r in items}
            | {
                "thresholds": {
                    r.criterion: {"comparator": r.comparator, "value": r.threshold, "source": r.threshold_source}
                    for r in items
                }
            },
            evidence=[_evidence(document, result_file)],
            started_at=document["started_at"],
            finished_at=document["finished_at"],
        )
        writer.write(record)
        records.append(record)
    return records


def _evidence(document: dict[str, Any], result_file: Path) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "kind": "load-result",
        "file": str(result_file),
        "scenario": document["scenario"],
        "tenants": document["tenants"],
    }
    if "window" in document:
        evidence["window_seconds"] = document["window"]["seconds"]
        evidence["totals"] = {
            k: document["totals"][k] for k in ("offered_rps", "achieved_rps", "requests", "errors", "throttled_429")
        }
    rows = document.get("per_tenant") or []
    worst = sorted(
        rows,
        key=lambda row: (
            row["achieved_ratio"] if row["achieved_ratio"] is not None else 2.0,
            -row["latency_us"]["p95_us"],
        ),
    )[:5]
    if worst:
        evidence["worst_tenants"] = [
            {
                "tenant": row["tenant"],
                "role": row["role"],
                "achieved_ratio": row["achieved_ratio"],
                "p95_us": row["latency_us"]["p95_us"],
                "errors": row["errors"],
                "throttled_429": row["throttled_429"],
            }
            for row in worst
        ]
    if document.get("scalability"):
        evidence["scalability"] = [
            {key: point[key] for key in ("tenants", "rps", "offered_rps", "avg_ms", "p95_ms", "p99_ms", "served")}
            for point in document["scalability"]
        ]
    return evidence
