"""One report scores one run of one target: stale runs, other targets and legacy records never mix in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reports import ReportOptions, Verdict, build_report
from tenantprobe.errors import ProfileError
from tenantprobe.records import target_fingerprint
from tests.reports.conftest import RUN_ID, TARGET, passing_everything, record, report_for, write_records
from tests.reports.test_cli import _invoke
from tests.reports.test_inputs import _load

OLD_RUN = "20261101T090000Z-aaaaaa"
OTHER_TARGET = {"name": "ledgerly", "base_url": "https://ledgerly.example", "title": "Ledgerly", "version": "4.2"}


def _in_run(records: list[dict[str, Any]], run_id: str, at: str) -> list[dict[str, Any]]:
    return [{**r, "run_id": run_id, "started_at": at, "finished_at": at} for r in records]


def test_newest_run_without_critical_isolation_evidence_is_incomplete_despite_an_older_complete_run(
    tmp_path: Path,
) -> None:
    write_records(tmp_path, _in_run(passing_everything(), OLD_RUN, "2026-11-01T09:00:00+00:00"), "old-1.jsonl")
    newest = [r for r in passing_everything() if not r["control_id"].startswith("API-CROSS-TENANT")]
    write_records(tmp_path, _in_run(newest, RUN_ID, "2026-11-20T10:00:00+00:00"), "new-1.jsonl")
    report = report_for(tmp_path)
    assert report.run.run_id == RUN_ID
    assert report.decision.verdict is Verdict.INCOMPLETE
    assert "API-CROSS-TENANT-READ" in report.decision.reasons[0]
    assert "API-CROSS-TENANT-WRITE" in report.decision.reasons[0]
    status = {r.control.id: r.status for r in report.results}
    assert status["API-CROSS-TENANT-READ"] == "not_assessed"  # the old run's pass does not fill the gap
    assert report.run.ignored_runs == [OLD_RUN]
    assert report.run.ignored_records == len(passing_everything())
    ignored = [p for p in report.problems if p.message.startswith("ignored:")]
    assert len(ignored) == 1
    assert not ignored[0].blocking
    assert f"ignored: {len(passing_everything())} records of 1 other run(s): {OLD_RUN}" in ignored[0].message


def test_an_older_run_can_be_named_and_then_the_newest_is_ignored(tmp_path: Path) -> None:
    write_records(tmp_path, _in_run(passing_everything(), OLD_RUN, "2026-11-01T09:00:00+00:00"), "old-1.jsonl")
    write_records(tmp_path, [record("API-LIST-FILTER", "fail", summary="leak")], "new-1.jsonl")
    assert report_for(tmp_path).decision.verdict is Verdict.FAIL
    named = report_for(tmp_path, run=OLD_RUN)
    assert named.decision.verdict is Verdict.PASS, named.decision.reasons
    assert named.run.named
    assert named.run.ignored_runs == [RUN_ID]


def test_load_results_of_another_run_are_ignored(tmp_path: Path) -> None:
    write_records(tmp_path, [record("API-LIST-FILTER")])
    (tmp_path / "load-steady.json").write_text(json.dumps({**_load(), "run_id": OLD_RUN}))
    report = report_for(tmp_path)
    assert report.load_results == []
    assert report.run.ignored_records == 1
    assert next(r.status for r in report.results if r.control.id == "PERF-AVG-RESPONSE") == "not_assessed"


def test_a_defect_in_a_file_of_another_run_does_not_block_this_one(tmp_path: Path) -> None:
    path = write_records(
        tmp_path, _in_run([record("API-LIST-FILTER")], OLD_RUN, "2026-11-01T09:00:00+00:00"), "o.jsonl"
    )
    with path.open("a") as out:
        out.write('{"control_id": "API-LIST-FILTER", "check_id": "x", "sta\n')
    write_records(tmp_path, passing_everything(), "new-1.jsonl")
    report = report_for(tmp_path)
    assert report.decision.verdict is Verdict.PASS, report.decision.reasons
    truncated = next(p for p in report.problems if p.source == "o.jsonl:2")
    assert not truncated.blocking
    assert "in a file of another run" in truncated.message


def test_one_run_with_two_targets_is_refused_naming_both(tmp_path: Path) -> None:
    write_records(tmp_path, [record("API-LIST-FILTER")], "reference-1.jsonl")
    other = record("API-CROSS-TENANT-READ", target=OTHER_TARGET, target_fingerprint=target_fingerprint(OTHER_TARGET))
    write_records(tmp_path, [other], "ledgerly-1.jsonl")
    with pytest.raises(ProfileError) as raised:
        report_for(tmp_path)
    message = str(raised.value)
    assert f"run {RUN_ID} has records of 2 different targets (application)" in message
    assert "'reference' (PAKE knowledge engine 1.0.0" in message
    assert "reference-1.jsonl" in message
    assert "'ledgerly' (https://ledgerly.example, Ledgerly 4.2" in message
    assert "ledgerly-1.jsonl" in message
    assert "TENANTPROBE_RUN_ID" in message


def test_the_command_refuses_two_targets_with_the_input_error_exit_code(tmp_path: Path) -> None:
    results = tmp_path / "results"
    write_records(results, [record("API-LIST-FILTER")])
    write_records(results, [record("API-LIST-FILTER", target=OTHER_TARGET)], "other-1.jsonl")
    code, output = _invoke(tmp_path, "--results", str(results))
    assert code == 4  # no report written (tenantprobe.exitcodes)
    assert "tenantprobe report: run 20261120T100000Z-0a1b2c has records of 2 different targets" in output
    assert "Traceback" not in output


def test_an_unknown_run_is_refused_listing_the_runs(tmp_path: Path) -> None:
    results = tmp_path / "results"
    write_records(results, [record("API-LIST-FILTER")])
    code, output = _invoke(tmp_path, "--results", str(results), "--run", "2025-nope")
    assert code == 4  # no report written (tenantprobe.exitcodes)
    assert f"--run 2025-nope: no records of that run in <tmp>/results; the runs there are: {RUN_ID}" in output


def test_the_cluster_is_a_facet_of_its_own_not_a_second_target(tmp_path: Path) -> None:
    cluster = {"facet": "cluster", "name": "kubernetes", "server": "https://k8s:6443", "kubernetes_version": "1.31"}
    write_records(tmp_path, [record("API-LIST-FILTER"), record("INFRA-RESOURCE-QUOTA", target=cluster)])
    report = report_for(tmp_path)
    assert set(report.run.fingerprints) == {"application", "cluster"}


def test_legacy_records_are_their_own_run_and_never_mix_with_a_run_with_an_id(tmp_path: Path) -> None:
    legacy = [{k: v for k, v in r.items() if k not in ("run_id", "target_fingerprint")} for r in passing_everything()]
    write_records(tmp_path, legacy, "legacy-1.jsonl")
    write_records(tmp_path, [record("API-LIST-FILTER")], "new-1.jsonl")
    report = report_for(tmp_path)
    assert report.run.run_id == RUN_ID
    assert report.decision.verdict is Verdict.INCOMPLETE
    ignored = next(p for p in report.problems if p.message.startswith("ignored:"))
    assert "legacy (records without a run id, written before run ids existed)" in ignored.message


def test_legacy_records_alone_are_scored_but_cannot_pass(tmp_path: Path) -> None:
    legacy = [{k: v for k, v in r.items() if k not in ("run_id", "target_fingerprint")} for r in passing_everything()]
    write_records(tmp_path, legacy, "legacy-1.jsonl")
    report = build_report(ReportOptions(results_dir=tmp_path))
    assert report.run.legacy
    assert report.decision.verdict is Verdict.INCOMPLETE
    assert any("carry no run id" in p.message and p.blocking for p in report.problems)
    assert report.provenance["run"]["id"] == "legacy"


def test_records_of_one_run_keep_one_target_in_provenance(tmp_path: Path) -> None:
    write_records(tmp_path, passing_everything())
    report = report_for(tmp_path)
    assert report.provenance["run"]["target_fingerprints"] == {"application": target_fingerprint(TARGET)}
    assert [t["name"] for t in report.provenance["targets"]] == ["reference"]
