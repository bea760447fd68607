"""A results directory is not trusted: links out of it, oversized lines and oversized files are problems, not reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports import Verdict, write_report
from reports import _inputs as inputs
from tenantprobe.errors import ProfileError
from tests.reports.conftest import passing_everything, report_for, write_records


def messages(results: Path) -> tuple[Verdict, list[str]]:
    report = report_for(results)
    return report.decision.verdict, [f"{p.source}: {p.message}" for p in report.problems]


def test_results_file_linking_outside_the_directory_is_not_read(tmp_path: Path) -> None:
    results = tmp_path / "results"
    write_records(results, passing_everything())
    secret = write_records(tmp_path / "elsewhere", passing_everything(), "secret.jsonl")
    (results / "stolen.jsonl").symlink_to(secret)
    (results / "load-zero.json").symlink_to("/dev/zero")  # read whole, it would never end
    verdict, found = messages(results)
    assert verdict is not Verdict.PASS
    assert any(m.startswith("stolen.jsonl: resolves to") and "not a regular file inside" in m for m in found), found
    assert any(m.startswith("load-zero.json: resolves to /dev/zero") for m in found), found
    assert report_for(results).record_count == len(passing_everything())


def test_record_line_over_the_cap_is_a_problem_and_the_rest_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inputs, "MAX_RECORD_BYTES", 4096)
    path = write_records(tmp_path, passing_everything())
    with path.open("a") as out:
        out.write('{"control_id": "' + "A" * 10_000 + '"}\n')
    write_records(tmp_path, passing_everything()[:1])
    verdict, found = messages(tmp_path)
    assert verdict is Verdict.INCOMPLETE
    assert any("a record longer than 4096 bytes" in m for m in found), found
    assert report_for(tmp_path).record_count == len(passing_everything()) + 1


def test_waivers_file_over_the_cap_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs, "MAX_FILE_BYTES", 1024)
    write_records(tmp_path / "results", passing_everything())
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers: []\n" + "#\n" * 2048)
    with pytest.raises(ProfileError, match=r"waivers\.yaml: larger than 1024 bytes"):
        report_for(tmp_path / "results", waivers=waivers)


def test_record_with_a_lone_surrogate_is_a_problem_not_a_crash_of_the_writer(tmp_path: Path) -> None:
    records = passing_everything()
    records[0] = {**records[0], "status": "fail", "summary": "half an emoji: \ud83d"}
    write_records(tmp_path / "results", records)
    report = report_for(tmp_path / "results")
    found = [f"{p.source}: {p.message}" for p in report.problems]
    assert any(m.startswith("suite-1.jsonl:1: holds an escaped lone surrogate") for m in found), found
    assert report.record_count == len(records) - 1
    write_report(report, tmp_path / "report")  # text a browser cannot show would make the writer raise
    assert "half an emoji" not in (tmp_path / "report" / "report.html").read_text()
