"""The one record format: what writers stamp on every record and what the reader accepts."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

import msgspec
import pytest

from tenantprobe import records
from tenantprobe.errors import RecordError
from tenantprobe.records import (
    RECORD_FIELDS,
    RUN_ID_ENV,
    ResultRecord,
    ResultWriter,
    Status,
    decode_record,
    parse_record,
    record_schema,
    target_fingerprint,
)

APP = {"name": "reference", "base_url": "http://127.0.0.1:41234", "title": "PAKE", "version": "1.0.0", "faults": []}


def _written(writer: ResultWriter) -> list[dict[str, object]]:
    return [json.loads(line) for line in writer.path.read_text().splitlines()]


def test_writer_stamps_the_run_id_from_the_environment_and_the_target_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RUN_ID_ENV, "ci-1234")
    writer = ResultWriter(tmp_path, "isolation", APP)
    writer.write(ResultRecord("API-LIST-FILTER", "check", Status.PASS))
    [line] = _written(writer)
    assert line["run_id"] == "ci-1234"
    assert line["target_fingerprint"] == target_fingerprint(APP)
    assert line["target"] == APP


def test_without_the_environment_each_writer_gets_a_fresh_time_sortable_run_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(RUN_ID_ENV, raising=False)
    first, second = ResultWriter(tmp_path, "a"), ResultWriter(tmp_path, "b")
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", first.run_id)
    assert first.run_id != second.run_id


def test_the_fingerprint_follows_a_target_set_later_and_a_cluster_writer_shares_the_run(tmp_path: Path) -> None:
    writer = ResultWriter(tmp_path, "isolation")
    assert writer.target_fingerprint is None
    writer.target = APP
    cluster = writer.with_target({"facet": "cluster", "name": "kubernetes", "server": "https://k:6443"})
    cluster.write(ResultRecord("INFRA-RESOURCE-QUOTA", "c", Status.PASS))
    writer.write(ResultRecord("API-LIST-FILTER", "a", Status.PASS))
    lines = _written(writer)
    assert {str(line["run_id"]) for line in lines} == {writer.run_id}
    assert lines[0]["target_fingerprint"] == cluster.target_fingerprint != writer.target_fingerprint
    assert lines[1]["target_fingerprint"] == target_fingerprint(APP)


def test_a_cluster_writer_stamps_the_attack_class_of_the_check_running_now(tmp_path: Path) -> None:
    writer = ResultWriter(tmp_path, "quota")
    cluster = writer.with_target({"facet": "cluster", "name": "kubernetes", "server": "https://k:6443"})
    writer.attack = "data-layer"  # set by the plugin once the check's fixtures exist, after the facet was made
    cluster.write(ResultRecord("INFRA-RESOURCE-QUOTA", "c", Status.PASS))
    writer.attack = None
    cluster.write(ResultRecord("INFRA-RESOURCE-QUOTA", "d", Status.PASS))
    assert [line["attack"] for line in _written(writer)] == ["data-layer", None]


def test_fingerprint_is_stable_and_names_what_identifies_the_target() -> None:
    assert target_fingerprint(APP) == target_fingerprint(dict(reversed(list(APP.items()))))
    assert target_fingerprint(APP) != target_fingerprint({**APP, "version": "1.0.1"})
    assert target_fingerprint(APP) != target_fingerprint({**APP, "faults": ["dal_unscoped_get"]})
    assert target_fingerprint(None) is None


def test_a_launched_app_is_fingerprinted_by_its_launch_recipe_not_its_fresh_port() -> None:
    launched = {**APP, "launch": "reference-app"}
    assert target_fingerprint(launched) == target_fingerprint({**launched, "base_url": "http://127.0.0.1:50001"})
    assert target_fingerprint(launched) != target_fingerprint(APP)


def test_a_written_record_reads_back_as_the_same_record(tmp_path: Path) -> None:
    writer = ResultWriter(tmp_path, "isolation", APP, run_id="run-1")
    made = ResultRecord(
        "API-CROSS-TENANT-READ",
        "check",
        Status.FAIL,
        measured={"attempts": 3, "blocked": 2, "inconclusive": 1},
        pair={"attacker": "a", "victim": "b"},
    )
    writer.write(made)
    [line] = _written(writer)
    read = parse_record(line)
    assert read == made
    assert (read.attacker, read.victim, read.attempts) == ("a", "b", (3, 2))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "expected a JSON object, found list"),
        ({"check_id": "c", "status": "pass"}, "record without 'control_id': ignored"),
        ({"control_id": "X", "check_id": "c", "status": "passed"}, "status 'passed' is not one of error, fail,"),
        ({"control_id": "X", "check_id": "c", "status": "pass", "evidence": "x"}, "evidence: 'x' is not of type"),
        ({"control_id": "X", "check_id": "c", "status": "pass", "measured": {"attempts": -1}}, "measured.attempts:"),
        (
            {"control_id": "X", "check_id": "c", "status": "pass", "measured": {"attempts": 1, "blocked": 2}},
            "measured.blocked (2) exceeds measured.attempts (1)",
        ),
    ],
)
def test_malformed_records_are_refused_naming_the_key(raw: object, message: str) -> None:
    with pytest.raises(RecordError, match=re.escape(message)):
        parse_record(raw)


def test_scan_and_control_level_records_count_no_attempts() -> None:
    scan = ResultRecord("API-CANARY-ORACLE", "c", Status.PASS, measured={"responses_scanned": 40})
    old_scan = ResultRecord(
        "API-CANARY-ORACLE", "c", Status.PASS, measured={"attempts": 40, "blocked": 40, "responses_scanned": 40}
    )
    control_level = ResultRecord("API-LIST-FILTER", "c", Status.PASS, pair={"attacker": "a", "victim": "b"})
    assert scan.attempts == old_scan.attempts == control_level.attempts == (0, 0)


FULL = {
    "control_id": "API-LIST-FILTER",
    "check_id": "suites/isolation/test_api.py::test_list[t1-t2]",
    "status": "fail",
    "summary": "t1 → t2: 3 foreign rows",
    "severity": "critical",
    "reason": None,
    "measured": {"attempts": 4, "blocked": 3, "inconclusive": 0, "p95_ms": 12.5},
    "evidence": [{"request": {"url": "http://x/1"}, "response": {"status": 200}}, 123456789012345678901234567890],
    "pair": {"attacker": "t1", "victim": "t2", "note": 3},
    "target": APP,
    "run_id": "ci-1",
    "target_fingerprint": "sha256:0011",
    "started_at": "2026-12-01T10:00:00+00:00",
    "finished_at": None,
    "unknown_key": [1, 2],
}
# Lines the fast decoder must refuse or read exactly as json.loads and parse_record do.
LINES = [
    json.dumps(FULL),
    json.dumps({"control_id": "A", "check_id": "c", "status": "pass"}),
    json.dumps({**FULL, "summary": None, "severity": None, "measured": None, "evidence": None, "target": None}),
    json.dumps({**FULL, "pair": {"attacker": None, "victim": ""}}) + "\r\n",
    json.dumps({**FULL, "summary": "café 😀"}, ensure_ascii=False),
    json.dumps({**FULL, "summary": "\ud83d\ude00 and a lone \ud800"}),
    '{"control_id": "A", "check_id": "c", "status": "pass", "status": "fail"}',
    '{"control_id": "A", "check_id": "c", "status": "pass", "measured": {"attempts": NaN}}',
    '{"control_id": "A", "check_id": "c", "status": "pass", "evidence": [1e400]}',
    '\ufeff{"control_id": "A", "check_id": "c", "status": "pass"}',
    "[1, 2]",
    '{"control_id": "A", "check_id": "c", "status": "pass"',
    '{"control_id": "A", "check_id": "c", "status": "pass"} {}',
]
CHANGES: tuple[dict[str, object], ...] = (
    {"status": "passed"},
    {"status": None},
    {"control_id": ""},
    {"check_id": 7},
    {"run_id": ""},
    {"run_id": None},
    {"summary": 3},
    {"target": []},
    {"evidence": {}},
    {"measured": {"attempts": -1, "blocked": 0}},
    {"measured": {"attempts": True, "blocked": 1}},
    {"measured": {"attempts": 2.0, "blocked": 1}},
    {"measured": {"attempts": None}},
    {"measured": {"responses_scanned": "9"}},
    {"measured": {"attempts": 2, "blocked": 3}},
    {"measured": {"blocked": 3}},
    {"measured": []},
    {"pair": {"attacker": 3, "victim": "t2"}},
    {"pair": "t1"},
    {"started_at": 0},
)
LINES += [json.dumps({**FULL, **change}) for change in CHANGES]
LINES.append(json.dumps({key: value for key, value in FULL.items() if key != "check_id"}))


@pytest.mark.parametrize("line", LINES)
def test_the_fast_decoder_reads_a_line_as_the_schema_check_does_or_leaves_it_to_it(line: str) -> None:
    data = line.encode("utf-8", errors="surrogatepass")
    fast = decode_record(data, ResultRecord)
    try:
        slow: ResultRecord | None = parse_record(json.loads(data.decode("utf-8", errors="replace")))
    except (ValueError, RecordError):
        slow = None
    if fast is not None:
        assert fast == slow
    if slow is not None and "NaN" not in line and "1e400" not in line and "\\ud800" not in line:
        assert fast == slow, "a valid line is read by the fast decoder, not only by the slow path"


def test_the_fast_decoder_has_the_fields_and_constraints_of_the_schema() -> None:
    schema = record_schema()
    fields = msgspec.structs.fields(records._Line)
    assert {f.name for f in fields} == set(schema["properties"]) == RECORD_FIELDS
    assert {f.name for f in fields if f.required} == set(schema["required"])
    status = next(f for f in fields if f.name == "status")
    assert set(typing.get_args(status.type)) == set(schema["properties"]["status"]["enum"]) == set(Status)
    assert set(records.COUNTS) == set(schema["properties"]["measured"]["properties"])
    assert set(schema["properties"]["pair"]["properties"]) == {"attacker", "victim"}
    non_empty = {key for key, sub in schema["properties"].items() if sub.get("minLength")}
    assert non_empty == {f.name for f in fields if "min_length=1" in repr(f.type)}
