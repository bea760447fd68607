"""Scoring rules: fail closed, critical isolation failures decide, waivers and declarations, metrics."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reports import Report, Verdict
from reports._metrics import MetricRow
from tenantprobe.controls import load_catalogue
from tests.reports.conftest import foreign_read, passing_everything, record, report_for, write_records

TODAY = date(2026, 11, 26)


def _status(report: Report, control_id: str) -> str:
    return next(str(r.status) for r in report.results if r.control.id == control_id)


def test_every_control_passing_gives_pass(tmp_path: Path) -> None:
    write_records(tmp_path, passing_everything())
    report = report_for(tmp_path)
    assert report.decision.verdict is Verdict.PASS, report.decision.reasons
    assert report.score.security_audit_score == 100.0
    assert report.score.coverage == 100.0
    assert {row.status for row in report.metrics} == {"met"}


def test_critical_isolation_failure_fails_whatever_the_score(tmp_path: Path) -> None:
    records = passing_everything()
    records.append(foreign_read(measured={"attempts": 1, "blocked": 0}))
    write_records(tmp_path, records)
    report = report_for(tmp_path)
    assert report.score.security_audit_score > 95
    assert report.decision.verdict is Verdict.FAIL
    assert report.decision.failed_critical == ["API-CROSS-TENANT-READ"]
    assert "API-CROSS-TENANT-READ" in report.decision.reasons[0]
    assert "tp-b read tp-a's note" in report.decision.reasons[0]


def test_missing_evidence_counts_zero_and_makes_the_verdict_incomplete(tmp_path: Path) -> None:
    write_records(tmp_path, [record("API-CROSS-TENANT-READ", measured={"attempts": 3, "blocked": 3})])
    report = report_for(tmp_path)
    weight = load_catalogue().get("API-CROSS-TENANT-READ").weight
    total = sum(c.weight for c in load_catalogue())
    assert report.score.security_audit_score == pytest.approx(100 * weight / total)
    assert report.score.measured_score == 100.0
    assert report.decision.verdict is Verdict.INCOMPLETE
    assert _status(report, "NET-DEFAULT-DENY") == "not_assessed"
    reason = next(r.reason for r in report.results if r.control.id == "NET-DEFAULT-DENY")
    assert "pytest suites/network" in reason


def test_errors_never_pass(tmp_path: Path) -> None:
    records = [r for r in passing_everything() if r["control_id"] != "DATA-RLS-PROBE"]
    records.append(record("DATA-RLS-PROBE", "error", reason="OperationalError: connection refused"))
    write_records(tmp_path, records)
    report = report_for(tmp_path)
    assert report.score.security_audit_score > 90
    assert report.decision.verdict is Verdict.INCOMPLETE
    assert any("DATA-RLS-PROBE" in reason for reason in report.decision.reasons)


def test_one_not_assessed_record_outweighs_passing_ones(tmp_path: Path) -> None:
    write_records(tmp_path, [record("API-LIST-FILTER"), record("API-LIST-FILTER", "not_assessed", reason="no list op")])
    report = report_for(tmp_path)
    assert _status(report, "API-LIST-FILTER") == "not_assessed"
    assert "partly assessed" in next(r.reason for r in report.results if r.control.id == "API-LIST-FILTER")


def test_five_medium_failures_fail(tmp_path: Path) -> None:
    records = passing_everything()
    medium = [c.id for c in load_catalogue() if c.severity == "medium"][:5]
    records += [record(control_id, "fail", summary="broken") for control_id in medium]
    write_records(tmp_path, records)
    report = report_for(tmp_path)
    assert report.decision.verdict is Verdict.FAIL
    assert report.score.vulnerabilities["medium"] == 5
    assert any("5 medium-severity" in reason for reason in report.decision.reasons)


def test_waiver_excludes_a_failure_and_an_expired_one_is_a_failure(tmp_path: Path) -> None:
    records = [
        *passing_everything(),
        record("API-EXISTENCE-ORACLE", "fail", summary="403 for foreign, 404 for missing"),
        record("API-CROSS-TENANT-WRITE", "fail", summary="tp-b deleted tp-a's note"),
    ]
    write_records(tmp_path / "results", records)
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        "  - {control: API-EXISTENCE-ORACLE, reason: fix in 2.3, owner: alice@example.com, expires: 2027-01-31}\n"
        "  - {control: API-CROSS-TENANT-WRITE, reason: legacy route, owner: bob, expires: 2026-10-01}\n"
    )
    report = report_for(tmp_path / "results", waivers=waivers, today=TODAY)
    assert _status(report, "API-EXISTENCE-ORACLE") == "waived"
    assert _status(report, "API-CROSS-TENANT-WRITE") == "fail"
    assert report.decision.verdict is Verdict.FAIL
    assert "waiver expired on 2026-10-01" in report.decision.reasons[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("waivers:\n  - {control: API-EXISTENCE-ORACLE, reason: later}\n", "missing owner, expires"),
        ("waivers:\n  - {control: API-EXISTANCE-ORACLE, reason: r, owner: o, expires: 2027-01-01}\n", "Did you mean"),
        ("waivers:\n  - {control: API-EXISTENCE-ORACLE, reason: r, owner: o, expires: soon}\n", "is not a date"),
        ("not_applicable:\n  - {control: NET-DEFAULT-DENY}\n", "needs a control and a reason"),
        ("waivers: [\n", "not valid YAML"),
        ("waiver: []\n", "unknown key(s) 'waiver'"),
    ],
)
def test_bad_waiver_entries_are_problems_and_not_applied(tmp_path: Path, text: str, message: str) -> None:
    write_records(tmp_path / "results", [*passing_everything(), record("API-EXISTENCE-ORACLE", "fail")])
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(text)
    report = report_for(tmp_path / "results", waivers=waivers, today=TODAY)
    assert any(message in p.message for p in report.problems), report.problems
    assert report.decision.verdict is not Verdict.PASS


def test_not_applicable_needs_a_reason(tmp_path: Path) -> None:
    write_records(tmp_path, [record("NET-DEFAULT-DENY", "not_applicable")])
    report = report_for(tmp_path)
    assert _status(report, "NET-DEFAULT-DENY") == "not_assessed"
    assert any("not_applicable without a reason" in p.message for p in report.problems)


def test_declared_not_applicable_controls_leave_the_score(tmp_path: Path) -> None:
    network = [c.id for c in load_catalogue() if c.layer == "network"]
    write_records(tmp_path / "results", [r for r in passing_everything() if r["control_id"] not in network])
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "not_applicable:\n" + "".join(f"  - {{control: {c}, reason: serverless target}}\n" for c in network)
    )
    report = report_for(tmp_path / "results", waivers=waivers, today=TODAY)
    assert {_status(report, c) for c in network} == {"not_applicable"}
    assert report.score.coverage == 100.0
    assert report.decision.verdict is Verdict.PASS


def test_isolation_score_is_blocked_over_attempts_across_layers(tmp_path: Path) -> None:
    write_records(
        tmp_path,
        [
            record(
                "API-CROSS-TENANT-READ", measured={"attempts": 10, "blocked": 10}, pair={"attacker": "a", "victim": "b"}
            ),
            record(
                "API-LIST-FILTER",
                "fail",
                measured={"attempts": 10, "blocked": 9},
                pair={"attacker": "b", "victim": "a"},
            ),
            record("DATA-RLS-PROBE", measured={"attempts": 5, "blocked": 5}),
        ],
    )
    report = report_for(tmp_path)
    row = next(m for m in report.metrics if m.key == "tenant_isolation_score")
    assert row.value == pytest.approx(100 * 24 / 25)
    assert row.status == "not_met"
    assert report.matrix.tenants == ["a", "b"]
    assert report.matrix.cells[("b", "a")] == (10, 9)


def test_trend_names_new_fixed_and_unchanged_findings(tmp_path: Path) -> None:
    import json

    from reports._outputs import report_json

    write_records(tmp_path / "before", [record("API-LIST-FILTER", "fail"), record("API-COUNT-LEAK", "fail")])
    previous = tmp_path / "previous.json"
    previous.write_text(json.dumps(report_json(report_for(tmp_path / "before"))))
    write_records(
        tmp_path / "after",
        [record("API-LIST-FILTER"), record("API-COUNT-LEAK", "fail"), record("DATA-POOL-BLEED", "fail")],
    )
    trend = report_for(tmp_path / "after", previous=previous).trend
    assert trend is not None
    assert (trend["new"], trend["fixed"], trend["unchanged"]) == (
        ["DATA-POOL-BLEED"],
        ["API-LIST-FILTER"],
        ["API-COUNT-LEAK"],
    )


def test_any_isolation_failure_fails_unless_waived(tmp_path: Path) -> None:
    write_records(tmp_path / "results", [*passing_everything(), record("API-EXISTENCE-ORACLE", "fail", summary="403")])
    report = report_for(tmp_path / "results")
    assert report.decision.verdict is Verdict.FAIL
    assert report.decision.reasons[0].startswith("Isolation control API-EXISTENCE-ORACLE (medium) failed")
    assert report.decision.failed_critical == []
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - {control: API-EXISTENCE-ORACLE, reason: r, owner: o, expires: 2027-01-31}\n")
    assert report_for(tmp_path / "results", waivers=waivers, today=TODAY).decision.verdict is Verdict.PASS


def test_a_failed_non_isolation_control_can_pass_above_the_audit_target(tmp_path: Path) -> None:
    write_records(tmp_path, [*passing_everything(), record("DATA-TENANT-INDEX", "fail", summary="seq scan")])
    report = report_for(tmp_path)
    assert report.decision.verdict is Verdict.PASS
    assert report.score.vulnerabilities["medium"] == 1


# ---------------------------------------------------------------------- critical isolation controls
CRITICAL_ISOLATION = [c.id for c in load_catalogue() if c.severity == "critical" and c.isolation]
WAIVER = "waivers:\n  - {{control: {}, reason: accepted for now, owner: alice, expires: 2027-01-31}}\n"


def test_pass_needs_every_critical_isolation_control_assessed_and_passing(tmp_path: Path) -> None:
    write_records(tmp_path, passing_everything())
    report = report_for(tmp_path)
    assert report.decision.verdict is Verdict.PASS
    assert "every critical isolation control passed" in report.decision.reasons[0]


def test_one_missing_critical_isolation_control_keeps_a_high_score_from_pass(tmp_path: Path) -> None:
    write_records(tmp_path, [r for r in passing_everything() if r["control_id"] != "API-TENANT-CONTEXT-TAMPER"])
    report = report_for(tmp_path)
    assert report.score.security_audit_score > 95
    assert report.decision.verdict is Verdict.INCOMPLETE
    assert report.decision.reasons == [
        "1 critical isolation control(s) lack passing evidence, and PASS needs every one assessed and passing "
        "whatever the score: not assessed: API-TENANT-CONTEXT-TAMPER."
    ]


@pytest.mark.parametrize(("status", "label"), [("error", "in error"), ("not_applicable", "not applicable by a suite")])
def test_a_critical_isolation_control_in_error_or_declared_by_a_suite_is_a_gap(
    tmp_path: Path, status: str, label: str
) -> None:
    records = [r for r in passing_everything() if r["control_id"] != "DATA-POOL-BLEED"]
    records.append(record("DATA-POOL-BLEED", status, reason="the check says so"))
    write_records(tmp_path, records)
    report = report_for(tmp_path)
    assert report.decision.verdict is Verdict.INCOMPLETE
    assert f"{label}: DATA-POOL-BLEED" in report.decision.reasons[0]


def test_a_waiver_on_a_failing_critical_isolation_control_shows_waived_and_still_fails(tmp_path: Path) -> None:
    records = passing_everything()
    records.append(foreign_read())
    write_records(tmp_path / "results", records)
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVER.format("API-CROSS-TENANT-READ"))
    report = report_for(tmp_path / "results", waivers=waivers, today=TODAY)
    assert _status(report, "API-CROSS-TENANT-READ") == "waived"
    assert report.decision.verdict is Verdict.FAIL
    assert report.decision.failed_critical == ["API-CROSS-TENANT-READ"]
    assert "A waiver cannot accept a critical isolation failure: the verdict stays FAIL" in report.decision.reasons[0]
    assert report.score.vulnerabilities["critical"] == 1


def test_a_waiver_on_a_missing_critical_isolation_control_is_not_pass(tmp_path: Path) -> None:
    write_records(tmp_path / "results", [r for r in passing_everything() if r["control_id"] != "API-LIST-FILTER"])
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVER.format("API-LIST-FILTER"))
    report = report_for(tmp_path / "results", waivers=waivers, today=TODAY)
    assert _status(report, "API-LIST-FILTER") == "waived"
    assert report.decision.verdict is Verdict.INCOMPLETE
    assert "waived (a waiver cannot stand in for evidence): API-LIST-FILTER" in report.decision.reasons[0]


def test_a_waiver_still_accepts_a_non_critical_isolation_finding(tmp_path: Path) -> None:
    records = passing_everything()
    records.append(record("API-COUNT-LEAK", "fail", summary="count differs"))
    write_records(tmp_path / "results", records)
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVER.format("API-COUNT-LEAK"))
    assert report_for(tmp_path / "results", waivers=waivers, today=TODAY).decision.verdict is Verdict.PASS


def test_a_person_can_declare_a_critical_isolation_control_not_applicable_and_pass_names_it(tmp_path: Path) -> None:
    write_records(tmp_path / "results", [r for r in passing_everything() if not r["control_id"].startswith("NET-")])
    waivers = tmp_path / "waivers.yaml"
    net = [c for c in CRITICAL_ISOLATION if c.startswith("NET-")] + ["NET-EGRESS-RESTRICTED"]
    waivers.write_text("not_applicable:\n" + "".join(f"  - {{control: {c}, reason: serverless}}\n" for c in net))
    report = report_for(tmp_path / "results", waivers=waivers, today=TODAY)
    assert report.decision.verdict is Verdict.PASS, report.decision.reasons
    assert "declared not applicable (NET-DEFAULT-DENY" in report.decision.reasons[0]


# ---------------------------------------------------------------------- Tenant Isolation Score
def _isolation_row(report: Report) -> MetricRow:
    return next(m for m in report.metrics if m.key == "tenant_isolation_score")


def test_canary_scanned_responses_are_not_attempts(tmp_path: Path) -> None:
    pair = {"attacker": "tp-b", "victim": "tp-a"}
    write_records(
        tmp_path,
        [
            record("API-CANARY-ORACLE", measured={"responses_scanned": 5000}),
            # The probe as written before the contract: a scan record that also states attempts.
            record("API-CANARY-ORACLE", measured={"attempts": 900, "blocked": 900, "responses_scanned": 900}),
            record(
                "API-CROSS-TENANT-READ", "fail", measured={"attempts": 2, "blocked": 1, "inconclusive": 3}, pair=pair
            ),
        ],
    )
    row = _isolation_row(report_for(tmp_path))
    assert row.value == 50.0
    assert row.measured == "50.0% (1 of 2 judged cross-tenant attempts blocked)"
    assert "3 attempt(s) not judged" in row.note


def test_a_run_with_only_scan_records_has_no_isolation_score(tmp_path: Path) -> None:
    write_records(tmp_path, [record("API-CANARY-ORACLE", measured={"responses_scanned": 5000})])
    row = _isolation_row(report_for(tmp_path))
    assert row.status == "not_assessed"
    assert row.value is None
    assert "no judged cross-tenant attempt" in row.note


def test_control_level_results_without_attempts_count_nothing(tmp_path: Path) -> None:
    pair = {"attacker": "tp-b", "victim": "tp-a"}
    write_records(tmp_path, [record("API-LIST-FILTER", pair=pair), record("API-NESTED-PARENT", "fail", pair=pair)])
    report = report_for(tmp_path)
    row = _isolation_row(report)
    assert row.value is None
    assert row.status == "not_met"  # no score, but a failed isolation control is never "met"
    assert report.matrix.cells == {}
