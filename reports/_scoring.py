"""Scoring: per-control status, the fail-closed weighted score, coverage and the verdict.

The verdict rules, in order (reports/README.md explains them for readers). A *critical
isolation control* is one the catalogue marks ``severity: critical`` and ``isolation: true``.

1. FAIL when an isolation control fails (critical ones first: "whatever the percentage", and a
   waiver cannot accept them: a waived critical isolation failure is shown as waived and still
   fails; the phase promises zero cross-tenant access, so a failed high or medium isolation
   control fails too unless it is waived; an expired waiver counts as a failure), when the
   vulnerability target is missed (a failed critical control, or five or more failed medium
   ones), or when the controls that were assessed already score at or below the audit target
   (90/100): what was measured is bad whatever the rest would show.
2. INCOMPLETE when nothing failed that badly but the evidence cannot support a PASS: a critical
   isolation control without passing evidence (not assessed, error, no record, a suite's
   not_applicable, or waived: only a person's not-applicable declaration takes one out), an
   input problem (truncated line, unknown control, crashed suite, bad waiver, legacy records
   without a run id), a control that ended in ``error``, or a Security Audit Score at or below
   90 because controls were not assessed (they count 0: fail closed). A run of one suite is
   INCOMPLETE by design.
3. PASS otherwise: every critical isolation control assessed and passing, no failed critical
   control, no errors, no input problems, and a fail-closed Security Audit Score above 90.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reports._model import (
    SEVERITIES,
    STATUS_ORDER,
    ControlResult,
    Declaration,
    LoadResult,
    Problem,
    Record,
    Verdict,
    Waiver,
)
from reports._tally import ControlTally, RunTally
from tenantprobe.controls import Catalogue, Control
from tenantprobe.records import Status

AUDIT_TARGET = 90.0  # Security Audit Score target of the phase: > 90/100
MEDIUM_LIMIT = 5  # vulnerability count target: 0 critical, < 5 medium
SCORED = frozenset({"pass", "fail", "error", "not_assessed"})
EXCERPT = 3
GAP_LABELS = {"not_assessed": "not assessed", "error": "in error", "not_applicable": "not applicable by a suite"}


def _hint(control: Control) -> str:
    """Why a control has no record, and what would produce one (the health-check shape)."""
    source = control.measure.source
    if source.startswith("suites/"):
        return (
            f"No result record: the checks that measure it ({source}) did not run or wrote nothing for it. "
            f"Run `pytest {source} --results-dir <results>` against the target to assess it."
        )
    if source == "scenarios":
        return (
            "No load result: the locust scenarios did not run. Run them so that they write "
            "results/load-*.json (format: reports/load-result.schema.json)."
        )
    if source == "docs":
        return "Documentation was not checked: pass --docs <directory> to count the phase's deliverables."
    return f"No measurement: {source} did not write a result record for this control."


def records_from_load(load_results: Iterable[LoadResult], catalogue: Catalogue) -> list[Record]:
    """Load results as derived records: each catalogue metric a load file measured, against its threshold."""
    by_metric = {c.measure.name: c for c in catalogue if c.measure.kind == "metric" and c.measure.name}
    records = []
    for load in load_results:
        for name, value in sorted(load.metrics.items()):
            control = by_metric.get(name)
            if control is None or control.measure.threshold is None:
                continue
            unit = control.measure.unit or ""
            ok = control.measure.satisfied_by(value)
            records.append(
                Record(
                    control_id=control.id,
                    check_id=f"load:{load.path}",
                    status=Status.PASS if ok else Status.FAIL,
                    run_id=load.run_id,
                    target_fingerprint=load.target_fingerprint,
                    source=load.path,
                    severity=control.severity,
                    summary=f"{name} = {value:g} {unit} in scenario {load.scenario!r} "
                    f"(target {control.measure.comparator} {control.measure.threshold:g} {unit})",
                    measured={name: value},
                    target=load.data.get("target") or {},
                    started_at=load.data.get("started_at"),
                    finished_at=load.data.get("finished_at"),
                )
            )
    return records


def _worst_value(control: Control, tally: ControlTally) -> float | None:
    # The value that is furthest from meeting the threshold speaks for the control.
    return tally.highest if control.measure.comparator in ("<", "<=") else tally.lowest


def _excerpt(texts: Iterable[str]) -> str:
    unique = [t for t in texts if t]
    shown = "; ".join(unique[:EXCERPT])
    return shown + (f" (and {len(unique) - EXCERPT} more)" if len(unique) > EXCERPT else "")


def _reason(raw: str, control: Control, tally: ControlTally) -> str:
    if raw == "fail":
        return _excerpt(tally.fail_texts)
    if raw == "error":
        return _excerpt(tally.error_texts)
    if raw == "not_assessed" and not tally.count:
        return _hint(control)
    if raw in ("not_assessed", "not_applicable"):
        # Neither has a failing or erroring record; a not-applicable one has a reason (without, it is not assessed).
        return _excerpt(tally.other_texts)
    return ""


def control_result(
    control: Control,
    tally: ControlTally,
    waiver: Waiver | None,
    declaration: Declaration | None,
    problems: list[Problem],
) -> ControlResult:
    problems += tally.problems
    counts = tally.counts
    raw = min(counts, key=STATUS_ORDER.index) if counts else "not_assessed"
    reason = _reason(raw, control, tally)
    if raw == "not_assessed" and counts.get("pass"):
        reason = f"partly assessed ({counts['pass']} passing record(s)); not assessed: {reason}"
    result = ControlResult(control, raw, reason, tally, raw, _worst_value(control, tally), None, dict(counts))
    if declaration is not None and raw in ("not_assessed", "error", "not_applicable"):
        result.status, result.reason = "not_applicable", f"declared not applicable: {declaration.reason}"
        result.declaration = declaration
    elif declaration is not None:
        problems.append(
            Problem(
                declaration.source,
                f"{control.id} is declared not applicable but the run has evidence for it "
                f"({raw}); the evidence is used",
                blocking=False,
            )
        )
    if waiver is not None:
        result.waiver = waiver
        if raw == "pass":
            problems.append(Problem(waiver.source, f"the waiver for {control.id} is not needed: it passes", False))
        elif waiver.expired:
            result.status = "fail"
            result.reason = f"waiver expired on {waiver.expires} (owner {waiver.owner}); {raw}: {reason}"
        elif result.status != "not_applicable":
            result.status = "waived"
            result.reason = f"waived until {waiver.expires} by {waiver.owner}: {waiver.reason} ({raw}: {reason})"
            if result.critical_isolation:
                finding, stays = ("failure", "FAIL") if raw == "fail" else ("gap", "INCOMPLETE at best")
                result.reason += f". A waiver cannot accept a critical isolation {finding}: the verdict stays {stays}"
    return result


def control_results(
    catalogue: Catalogue,
    run: RunTally,
    waivers: list[Waiver],
    declarations: list[Declaration],
    problems: list[Problem],
) -> list[ControlResult]:
    by_waiver = {w.control_id: w for w in waivers}
    by_declaration = {d.control_id: d for d in declarations}
    return [
        control_result(
            c, run.controls.get(c.id) or ControlTally(c), by_waiver.get(c.id), by_declaration.get(c.id), problems
        )
        for c in catalogue
    ]


@dataclass
class Score:
    security_audit_score: float  # 0..100, fail closed
    measured_score: float | None  # 0..100 over pass and fail only
    coverage: float  # 0..100: assessed weight / applicable catalogue weight
    catalogue_weight: float
    assessed_weight: float
    by_status: dict[str, int]
    weight_by_status: dict[str, float]
    vulnerabilities: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "security_audit_score": round(self.security_audit_score, 2),
            "measured_score": None if self.measured_score is None else round(self.measured_score, 2),
            "coverage": round(self.coverage, 2),
            "catalogue_weight": self.catalogue_weight,
            "assessed_weight": self.assessed_weight,
            "controls_by_status": self.by_status,
            "weight_by_status": self.weight_by_status,
            "vulnerabilities": self.vulnerabilities,
        }


def _ratio(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


def score(results: list[ControlResult]) -> Score:
    weight: dict[str, float] = {status: 0.0 for status in STATUS_ORDER}
    count: dict[str, int] = {status: 0 for status in STATUS_ORDER}
    for result in results:
        weight[result.status] += result.control.weight
        count[result.status] += 1
    scored = sum(weight[s] for s in SCORED)
    measured = weight["pass"] + weight["fail"]
    applicable = sum(r.control.weight for r in results if r.status != "not_applicable")
    assessed = sum(r.control.weight for r in results if r.assessed and r.status != "not_applicable")
    vulnerabilities = {s: sum(1 for r in results if r.failed and r.control.severity == s) for s in SEVERITIES}
    return Score(
        security_audit_score=_ratio(weight["pass"], scored),
        measured_score=_ratio(weight["pass"], measured) if measured else None,
        coverage=_ratio(assessed, applicable),
        catalogue_weight=sum(r.control.weight for r in results),
        assessed_weight=assessed,
        by_status=count,
        weight_by_status=weight,
        vulnerabilities=vulnerabilities,
    )


@dataclass
class VerdictDecision:
    verdict: Verdict
    reasons: list[str] = field(default_factory=list)
    failed_critical: list[str] = field(default_factory=list)


def verdict(results: list[ControlResult], result_score: Score, problems: list[Problem]) -> VerdictDecision:
    """The verdict and the sentences that justify it (see the module docstring for the rules)."""
    critical = [r for r in results if r.failed and r.critical_isolation]
    fail_reasons = [
        f"Critical isolation control {r.control.id} failed: {r.control.title}. {r.reason}".strip() for r in critical
    ]
    fail_reasons += [
        f"Isolation control {r.control.id} ({r.control.severity}) failed: {r.control.title}. {r.reason}".strip()
        for r in results
        if r.failed and r.control.isolation and r not in critical
    ]
    vulns = result_score.vulnerabilities
    other_critical = [
        r.control.id for r in results if r.failed and r.control.severity == "critical" and r not in critical
    ]
    if other_critical:
        fail_reasons.append(f"Critical control(s) failed: {', '.join(other_critical)}.")
    if vulns["medium"] >= MEDIUM_LIMIT:
        fail_reasons.append(
            f"{vulns['medium']} medium-severity controls failed (the target is fewer than {MEDIUM_LIMIT})."
        )
    if result_score.measured_score is not None and result_score.measured_score <= AUDIT_TARGET:
        fail_reasons.append(
            f"The controls that were assessed score {result_score.measured_score:.1f}/100, "
            f"at or below the audit target of {AUDIT_TARGET:g}."
        )
    if fail_reasons:
        return VerdictDecision(Verdict.FAIL, fail_reasons, [r.control.id for r in critical])
    reasons = []
    gaps = [r for r in results if r.critical_isolation and not r.proven]
    if gaps:
        groups: dict[str, list[str]] = defaultdict(list)
        for r in gaps:
            label = GAP_LABELS.get(r.raw_status, r.raw_status)
            groups["waived (a waiver cannot stand in for evidence)" if r.status == "waived" else label].append(
                r.control.id
            )
        reasons.append(
            f"{len(gaps)} critical isolation control(s) lack passing evidence, and PASS needs every one assessed "
            "and passing whatever the score: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in groups.items()) + "."
        )
    blocking = [p for p in problems if p.blocking]
    if blocking:
        reasons.append(f"{len(blocking)} input problem(s) make the evidence incomplete (see Problems).")
    errors = [r.control.id for r in results if r.status == "error"]
    if errors:
        reasons.append(
            f"{len(errors)} control(s) could not be checked because their check crashed: {', '.join(errors)}."
        )
    if result_score.security_audit_score <= AUDIT_TARGET:
        not_assessed = result_score.by_status["not_assessed"]
        reasons.append(
            f"Security Audit Score {result_score.security_audit_score:.1f}/100 is not above {AUDIT_TARGET:g}: "
            f"{not_assessed} control(s) were not assessed and count as 0 (coverage {result_score.coverage:.0f}%)."
        )
    if reasons:
        return VerdictDecision(Verdict.INCOMPLETE, reasons)
    declared = [r.control.id for r in results if r.critical_isolation and r.status == "not_applicable"]
    return VerdictDecision(
        Verdict.PASS,
        [
            "No control failed; every critical isolation control passed"
            + (f" or was declared not applicable ({', '.join(declared)})" if declared else "")
            + f"; Security Audit Score {result_score.security_audit_score:.1f}/100 "
            f"with {result_score.coverage:.0f}% coverage."
        ],
    )


# ---------------------------------------------------------------------- isolation matrix
@dataclass
class Matrix:
    tenants: list[str]
    cells: dict[tuple[str, str], tuple[int, int]]  # (attacker, victim) -> (attempts, blocked)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenants": self.tenants,
            "cells": [
                {"attacker": a, "victim": v, "attempts": n, "blocked": b}
                for (a, v), (n, b) in sorted(self.cells.items())
            ],
        }


def isolation_matrix(run: RunTally) -> Matrix:
    ordered = sorted(run.cells.items(), key=lambda item: item[1][2])
    tenants = sorted({t for pair in run.cells for t in pair})
    return Matrix(tenants, {pair: (n, b) for pair, (n, b, _) in ordered})


# ---------------------------------------------------------------------- trend
BAD = frozenset({"fail", "error"})


def trend(results: list[ControlResult], previous: Mapping[str, Any]) -> dict[str, Any]:
    """New, fixed and unchanged findings against an earlier report.json."""
    before = {str(c.get("id")): str(c.get("status")) for c in previous.get("controls", []) if isinstance(c, dict)}
    now = {r.control.id: r.status for r in results}
    new = sorted(i for i, s in now.items() if s in BAD and before.get(i) not in BAD)
    fixed = sorted(i for i, s in before.items() if s in BAD and now.get(i) == "pass")
    unchanged = sorted(i for i, s in now.items() if s in BAD and before.get(i) in BAD)
    changed = sorted(
        (i, before[i], s) for i, s in now.items() if i in before and before[i] != s and i not in new and i not in fixed
    )
    previous_score = previous["score"] if isinstance(previous.get("score"), dict) else {}
    previous_verdict = previous["verdict"] if isinstance(previous.get("verdict"), dict) else {}
    return {
        "previous_generated_at": previous.get("generated_at"),
        "previous_verdict": previous_verdict.get("status"),
        "previous_security_audit_score": previous_score.get("security_audit_score"),
        "previous_coverage": previous_score.get("coverage"),
        "new": new,
        "fixed": fixed,
        "unchanged": unchanged,
        "changed": [{"id": i, "before": b, "now": s} for i, b, s in changed],
    }
