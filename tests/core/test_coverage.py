"""The per-operation coverage table: attempts land on the operation they were sent to, the worst outcome shows."""

from __future__ import annotations

from tenantprobe.coverage import Coverage
from tenantprobe.probe import Actor, Exchange


def exchange(method: str, url: str, status: int) -> Exchange:
    return Exchange(Actor("acme:owner"), method, url, {}, None, status, {}, "", 1.0)


def api() -> Coverage:
    return Coverage(
        ["GET /projects/{slug}", "GET /projects/search", "PUT /projects/{slug}", "POST /signup"],
        {"POST /reset": "resets data (list it in allow_destructive to call it)"},
        prefix="/api",
        public=["POST /signup"],
    )


def test_a_literal_path_wins_over_a_parameter_and_the_base_path_and_query_are_ignored() -> None:
    coverage = api()
    assert coverage.operation_of("GET", "http://h/api/projects/search?q=x") == "GET /projects/search"
    assert coverage.operation_of("GET", "http://h/api/projects/web-1/") == "GET /projects/{slug}"
    assert coverage.operation_of("DELETE", "http://h/api/projects/web-1") is None


def test_a_finding_outranks_a_block_and_a_block_outranks_an_inconclusive_attempt() -> None:
    coverage = api()
    attack, own = exchange("GET", "http://h/api/projects/b-2", 404), exchange("GET", "http://h/api/projects/a-1", 200)
    coverage("API-CROSS-TENANT-READ", attack, None, [own], "positive control failed")
    coverage("API-CROSS-TENANT-READ", attack, True, [own], "blocked")
    coverage("API-EXISTENCE-ORACLE", attack, True, [own], "same as missing")
    coverage("API-EXISTENCE-ORACLE", attack, False, [own], "differs from missing")
    coverage("API-EXISTENCE-ORACLE", attack, True, [own], "same as missing")
    row = coverage.rows["GET /projects/{slug}"]
    assert row.baseline == 200
    assert row.attacks == {"API-CROSS-TENANT-READ": "+", "API-EXISTENCE-ORACLE": "!"}


def test_every_operation_gets_one_aligned_line_and_gaps_say_why() -> None:
    coverage = api()
    read = exchange("GET", "http://h/api/projects/b-2", 404)
    coverage("API-CROSS-TENANT-READ", read, True, [exchange("GET", "http://h/api/projects/a-1", 200)], "blocked")
    coverage.skipped("PUT /projects/{slug}", "no operation creates its objects")
    lines = coverage.lines()
    assert lines[0].startswith("operation ")
    width = len("GET /projects/search")  # the longest operation: the baseline column starts after it
    assert all(line[width : width + 2] == "  " and line[width + 2] != " " for line in lines[:-1])
    assert any(line.startswith("GET /projects/{slug}") and "CROSS-TENANT-READ+" in line for line in lines)
    assert any(line.startswith("POST /reset") and "why: resets data" in line for line in lines)
    assert any(line.startswith("POST /signup") and "why: public" in line for line in lines)
    assert any(line.startswith("PUT /projects/{slug}") and "why: no operation creates" in line for line in lines)
    assert lines[-1] == "5 operations: 1 with an owner baseline, 1 attacked and judged, 1 never called"
    gaps = coverage.lines(gaps_only=True)
    assert not any(line.startswith("GET /projects/{slug}") for line in gaps)
    assert len(gaps) == len(lines) - 1
