"""Partial and malformed inputs: the report shows every defect, never passes, never raises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reports import Verdict
from reports._inputs import load_result_schema
from tenantprobe.errors import ProfileError
from tests.reports.conftest import RUN_ID, passing_everything, record, report_for, write_records


def _messages(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"{p.source}: {p.message}" for p in report.problems]


def test_truncated_line_is_a_problem_and_the_rest_is_read(tmp_path: Path) -> None:
    path = write_records(tmp_path, passing_everything())
    line = json.dumps(record("API-LIST-FILTER", "fail", summary="leak"))
    with path.open("a") as out:
        out.write(line[: len(line) // 2])  # the suite was killed mid-write
    report = report_for(tmp_path)
    assert report.decision.verdict is Verdict.INCOMPLETE
    assert any("suite-1.jsonl:" in m and "truncated or corrupted" in m for m in _messages(report))
    assert report.record_count == len(passing_everything())


def test_unknown_control_id_names_the_closest(tmp_path: Path) -> None:
    write_records(tmp_path, [*passing_everything(), record("API-LIST-FILTER") | {"control_id": "API-LIST-FILTR"}])
    report = report_for(tmp_path)
    assert report.decision.verdict is Verdict.INCOMPLETE
    assert any("'API-LIST-FILTR'" in m and "Did you mean 'API-LIST-FILTER'" in m for m in _messages(report))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('["not", "an", "object"]', "expected a JSON object"),
        ('{"control_id": "API-LIST-FILTER", "status": "pass"}', "record without 'check_id'"),
        ('{"control_id": "API-LIST-FILTER", "check_id": "x", "status": "passed"}', "status 'passed' is not one of"),
    ],
)
def test_malformed_records_are_problems(tmp_path: Path, line: str, message: str) -> None:
    write_records(tmp_path, passing_everything())
    with (tmp_path / "suite-1.jsonl").open("a") as out:
        out.write(line + "\n")
    report = report_for(tmp_path)
    assert any(message in m for m in _messages(report)), _messages(report)
    assert report.decision.verdict is Verdict.INCOMPLETE


def test_empty_directory_is_reported_not_raised(tmp_path: Path) -> None:
    report = report_for(tmp_path)
    assert report.decision.verdict is Verdict.INCOMPLETE
    assert report.score.security_audit_score == 0.0
    assert any("no result records" in m for m in _messages(report))


def test_missing_directory_is_a_usage_error_naming_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"no such directory\. Run a suite first"):
        report_for(tmp_path / "nope")


def test_crashed_suite_shows_its_errors(tmp_path: Path) -> None:
    """What the plugin leaves when a check crashes: error records, and perhaps a half-written line."""
    records = [r for r in passing_everything() if not r["control_id"].startswith("DATA-")]
    records += [
        record(
            control_id,
            "error",
            check_id="suites/isolation/test_data_layer.py::test_catalog",
            reason="OperationalError: server closed the connection unexpectedly",
        )
        for control_id in ("DATA-RLS-FORCED", "DATA-RLS-POLICY-COVERAGE")
    ]
    path = write_records(tmp_path, records)
    with path.open("a") as out:
        out.write('{"control_id": "DATA-RLS-PROBE", "check_id": "suites/isol')
    report = report_for(tmp_path)
    assert report.decision.verdict is Verdict.INCOMPLETE
    errors = {r.control.id: r.reason for r in report.results if r.status == "error"}
    assert set(errors) == {"DATA-RLS-FORCED", "DATA-RLS-POLICY-COVERAGE"}
    assert "server closed the connection" in errors["DATA-RLS-FORCED"]


def test_a_failure_beside_a_crash_still_fails(tmp_path: Path) -> None:
    write_records(tmp_path, [record("DATA-RLS-PROBE", "error", reason="boom"), record("API-NESTED-PARENT", "fail")])
    with (tmp_path / "suite-1.jsonl").open("a") as out:
        out.write("{trunc")
    assert report_for(tmp_path).decision.verdict is Verdict.FAIL


def _load(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "schema": "tenantprobe.load/1",
        "run_id": RUN_ID,
        "scenario": "steady",
        "tenants": 120,
        "metrics": {
            "avg_ms": 41.5,
            "p95_ms": 88.0,
            "tenant_rps": 130.0,
            "concurrent_tenants": 120,
            "cpu_percent_max": 64.0,
            "memory_percent_max": 52.0,
        },
        "per_tenant": [
            {
                "tenant": f"tp-{i:03d}",
                "requests": 1000 + i,
                "failures": 0,
                "rps": 120.0 + i,
                "latency_ms": {"mean": 30.0 + i, "p50": 25.0 + i, "p95": 80.0 + i, "p99": 95.0 + i},
            }
            for i in range(12)
        ],
        "throughput_series": [{"t": float(t), "rps": 1500.0 + 10 * t} for t in range(30)],
        "scalability": [
            {"tenants": n, "rps": 15.0 * n, "p95_ms": 20 + n / 2, "avg_ms": 10 + n / 4} for n in (10, 50, 100, 120)
        ],
        "resources": [{"t": float(t), "cpu_percent": 40.0 + t, "memory_percent": 50.0} for t in range(20)],
    }
    data.update(overrides)
    return data


def test_load_results_become_metric_evidence_and_charts(tmp_path: Path) -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(load_result_schema())
    (tmp_path / "load-steady.json").write_text(json.dumps(_load()))
    report = report_for(tmp_path)
    rows = {m.key: m for m in report.metrics}
    assert rows["response_time"].status == "met"
    assert rows["response_time"].measured == "41.50 ms"
    assert rows["throughput"].status == "met"
    assert rows["scalability"].status == "met"
    assert rows["resource_utilization"].measured == "CPU 64.0% peak, memory 52.0% peak"
    assert next(r for r in report.results if r.control.id == "PERF-P95-RESPONSE").status == "fail"  # 88 ms ≥ 50 ms


def test_load_result_off_schema_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "load-burst.json").write_text(json.dumps(_load(metrics={"avg_ms": "fast"})))
    (tmp_path / "load-cut.json").write_text('{"schema": "tenantprobe.lo')
    report = report_for(tmp_path)
    messages = _messages(report)
    assert any(
        "load-burst.json: does not match reports/load-result.schema.json at metrics.avg_ms" in m for m in messages
    ), messages
    assert any("load-cut.json: not valid JSON" in m for m in messages)
    assert next(m for m in report.metrics if m.key == "response_time").status == "not_assessed"


def test_documentation_coverage_counts_the_ten_deliverables(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "guides").mkdir(parents=True)
    for name in ("architecture.md", "guides/database-migration.md", "security.md", "guides/backup-recovery.md"):
        (docs / name).write_text("# guide\n")
    (docs / "monitoring.md").write_text("")  # empty files do not count
    write_records(tmp_path / "results", [record("API-LIST-FILTER")])
    report = report_for(tmp_path / "results", docs=docs)
    row = next(m for m in report.metrics if m.key == "documentation_coverage")
    assert row.value == 40.0
    assert row.status == "not_met"
    result = next(r for r in report.results if r.control.id == "OPS-DOCUMENTATION-COVERAGE")
    assert "Monitoring Guide" in result.tally.findings[0].summary
