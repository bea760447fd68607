"""The corpus runner's table: which controls failed, with which evidence, and what was not assessed.

Only the pure part (``benchmarks/corpus/results_table.py``) is tested here; running the corpus
installs and starts real applications and is a benchmark, not a test.
"""

from __future__ import annotations

from typing import Any

from tests.benchmarks import load

table = load("corpus_results_table", "benchmarks/corpus/results_table.py")


def _exchange(actor: str, method: str, url: str, status: int) -> dict[str, Any]:
    return {"actor": actor, "request": {"method": method, "url": url}, "response": {"status": status}}


LEAK = {
    "control_id": "API-CROSS-TENANT-READ",
    "status": "fail",
    "summary": "b read a's issue",
    "pair": {"attacker": "tenant-b/owner", "victim": "tenant-a/owner"},
    "evidence": [
        _exchange("tenant-a/owner", "GET", "http://127.0.0.1:9/api/ws/A/issues/1", 200),
        _exchange("tenant-b/owner", "GET", "http://127.0.0.1:9/api/ws/B/issues/1?x=1", 200),
        {"expected": "404", "actual": "200"},
    ],
}


def test_failed_control_gets_the_attackers_request_and_status() -> None:
    found, unassessed = table.summarize([LEAK, {**LEAK, "status": "pass", "evidence": []}])
    assert found == {"API-CROSS-TENANT-READ": "GET /api/ws/B/issues/1?x=1 -> 200"}
    assert unassessed == []


def test_control_with_only_not_assessed_or_error_records_is_listed_as_not_assessed() -> None:
    records = [
        {"control_id": "API-CROSS-TENANT-WRITE", "status": "not_assessed"},
        {"control_id": "API-CROSS-TENANT-WRITE", "status": "error"},
        {"control_id": "API-CROSS-TENANT-LIST", "status": "not_assessed"},
        {"control_id": "API-CROSS-TENANT-LIST", "status": "pass"},
        {"control_id": "OPS-WAIVED", "status": "not_applicable"},
    ]
    found, unassessed = table.summarize(records)
    assert found == {}
    assert unassessed == ["API-CROSS-TENANT-WRITE (error)"]


def test_record_without_exchanges_falls_back_to_its_summary() -> None:
    found, _ = table.summarize([{**LEAK, "evidence": [{"expected": "a", "actual": "b"}]}])
    assert found == {"API-CROSS-TENANT-READ": "b read a's issue"}


def test_failures_on_the_fixed_release_are_false_positives_in_the_markdown() -> None:
    vulnerable = table.Row("app", "vulnerable 1.0", "GHSA-x", found={"C-1": "GET /a -> 200"}, seconds=12.4)
    fixed = table.Row("app", "fixed 1.1", "GHSA-x", found={"C-2": "PATCH /b|c -> 200"}, not_assessed=["C-3"])
    lines = table.markdown([vulnerable, fixed]).splitlines()
    assert lines[0].startswith("| app | release | advisory | found | false positives")
    assert lines[2] == "| app | vulnerable 1.0 | GHSA-x | C-1: GET /a -> 200 | — | none | 12 s |"
    assert lines[3] == "| app | fixed 1.1 | GHSA-x | — | C-2: PATCH /b\\|c -> 200 | C-3 | 0 s |"


def test_a_run_that_did_not_happen_says_so_instead_of_none_found() -> None:
    row = table.Row("app", "vulnerable 1.0", "GHSA-x", note="pytest exited 4 without records")
    assert "NO RESULT: pytest exited 4 without records" in table.text([row])
    assert "| NO RESULT: pytest exited 4 without records | — |" in table.markdown([row])


def test_errors_beside_findings_are_shown_with_them() -> None:
    row = table.Row("app", "vulnerable 1.0", "GHSA-x", found={"C-1": "GET /a -> 200"}, note="2 checks errored")
    assert "| C-1: GET /a -> 200<br>(and: 2 checks errored) | — |" in table.markdown([row])
