"""report.json against its schema, the public surface, and the trend and waiver sections as rendered."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema

import reports
from reports import ReportOptions, build_report, write_report
from reports._inputs import load_result_schema
from tenantprobe.controls import load_catalogue
from tests.reports.conftest import passing_everything, record, write_records
from tests.reports.htmlcheck import validate

SCHEMA = json.loads((Path(reports.__file__).parent / "report.schema.json").read_text())


def test_exported_members_are_the_public_surface() -> None:
    assert sorted(reports.__all__) == sorted(
        ["ControlResult", "Problem", "Record", "Report", "ReportOptions", "Verdict", "build_report", "write_report"]
    )
    assert all(hasattr(reports, name) for name in reports.__all__)


def test_bundled_schemas_are_valid_json_schemas() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator.check_schema(load_result_schema())


def test_every_phase_metric_has_a_row(tmp_path: Path) -> None:
    catalogue = load_catalogue()
    report = build_report(ReportOptions(results_dir=tmp_path))
    assert [row.key for row in report.metrics] == list(catalogue.phase_metrics)
    assert all(row.title and row.target for row in report.metrics)


def test_trend_and_waivers_render_and_validate(tmp_path: Path) -> None:
    write_records(tmp_path / "before", [record("API-LIST-FILTER", "fail"), record("API-COUNT-LEAK", "fail")])
    first = write_report(build_report(ReportOptions(results_dir=tmp_path / "before")), tmp_path / "r1")
    write_records(
        tmp_path / "after",
        [
            *(r for r in passing_everything() if r["control_id"] != "NET-EGRESS-RESTRICTED"),
            record("API-COUNT-LEAK", "fail"),
            record("DATA-POOL-BLEED", "fail"),
        ],
    )
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n  - {control: API-COUNT-LEAK, reason: totals fixed in 2.4, owner: carol, expires: 2027-03-01}\n"
        "not_applicable:\n  - {control: NET-EGRESS-RESTRICTED, reason: no cluster}\n"
    )
    options = ReportOptions(
        results_dir=tmp_path / "after", previous=first["json"], waivers=waivers, today=date(2026, 11, 26)
    )
    paths = write_report(build_report(options), tmp_path / "r2", with_sarif=True)
    data = json.loads(paths["json"].read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    assert data["trend"]["new"] == ["DATA-POOL-BLEED"]
    assert data["trend"]["fixed"] == ["API-LIST-FILTER"]
    assert data["waivers"][0]["control_id"] == "API-COUNT-LEAK"
    html = paths["html"].read_text()
    assert validate(html) == []
    assert "New findings (1)" in html
    assert "totals fixed in 2.4" in html
    assert "declared not applicable: no cluster" in html
    sha = data["evidence_files"][-1]
    assert sha["path"] == "waivers.yaml"


def test_network_truth_tables_are_shown_as_laid_out_even_on_a_pass(tmp_path: Path) -> None:
    table = "8080/TCP: . allowed as expected, x blocked as expected\n\t0\t1\n0 tenant-a/probe-web\t-\tx"
    write_records(tmp_path / "results", [record("NET-POLICY-ENFORCED", evidence=[{"truth_table": table}])])
    paths = write_report(build_report(ReportOptions(results_dir=tmp_path / "results")), tmp_path / "out")
    html = paths["html"].read_text()
    assert "0 tenant-a/probe-web\t-\tx" in html, "rows and tabs as the suite wrote them, not JSON-escaped"


def test_findings_are_grouped_by_attack_class_in_the_catalogues_order(tmp_path: Path) -> None:
    records = [
        record("API-LIST-FILTER", "fail", attack="lists", summary="cursor replayed"),
        record("API-CROSS-TENANT-WRITE", "fail", attack="actions", summary="merge took a foreign note"),
        record("API-CROSS-TENANT-WRITE", "fail", attack="actions", summary="append reached a foreign note"),
        record("API-LIST-FILTER", "fail", attack="lists", summary="feed filter"),
        record("NET-DEFAULT-DENY", "fail", summary="no policy"),
        record("API-CROSS-TENANT-READ", "pass", attack="path-ids"),
    ]
    write_records(tmp_path / "results", records)
    paths = write_report(build_report(ReportOptions(results_dir=tmp_path / "results")), tmp_path / "out")
    grouped = json.loads(paths["json"].read_text())["findings_by_attack"]
    assert [(row["class"], row["findings"], row["controls"], row["first"]) for row in grouped] == [
        ("actions", 2, ["API-CROSS-TENANT-WRITE"], "merge took a foreign note"),
        ("lists", 2, ["API-LIST-FILTER"], "cursor replayed"),
        (None, 1, ["NET-DEFAULT-DENY"], "no policy"),
    ]
    jsonschema.validate(json.loads(paths["json"].read_text()), SCHEMA)
    html = paths["html"].read_text()
    assert "Findings by attack class" in html
    assert html.index("Actions on objects") < html.index("Lists, filters") < html.index("no attack class")
