"""The generic oracles, on hand-made exchanges (pure logic)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tenantprobe.canaries import CanaryRegistry
from tenantprobe.credentials import TenantRef
from tenantprobe.oracles import (
    changed_by_others,
    exposed_secrets,
    internal_markers,
    looks_like_missing,
    referenced_values,
)
from tenantprobe.probe import Actor, Exchange, Probe, ProbeClient
from tenantprobe.records import ResultWriter


def exchange(status: int, body: Any, content_type: str = "application/json") -> Exchange:
    text = body if isinstance(body, str) else json.dumps(body)
    return Exchange(Actor("a"), "GET", "http://t/x", {}, None, status, {"content-type": content_type}, text, 1.0)


def test_foreign_looks_like_missing_only_when_identical_after_masking_ids() -> None:
    foreign = exchange(404, {"detail": "no note 111"})
    assert looks_like_missing(foreign, exchange(404, {"detail": "no note 222"}), ["111", "222"])
    assert not looks_like_missing(exchange(403, {"detail": "forbidden"}), exchange(404, {"detail": "x"}), [])
    assert not looks_like_missing(foreign, exchange(404, {"detail": "no note 222"}, "text/html"), ["111", "222"])


def test_counter_of_own_requests_is_volatile_but_other_tenants_writes_are_not() -> None:
    before = (exchange(200, {"count": 3, "mine": 1}), exchange(200, {"count": 3, "mine": 2}))
    after = (exchange(200, {"count": 4, "mine": 3}), exchange(200, {"count": 4, "mine": 4}))
    assert changed_by_others(before, after) == {"count": {"before": 3, "after": 4}}


def test_unchanged_collections_are_clean() -> None:
    snapshot = exchange(200, {"items": [{"id": 1}]})
    assert changed_by_others((snapshot, snapshot), (snapshot, snapshot)) == {}


def test_internal_markers_are_found() -> None:
    text = 'duplicate key value violates unique constraint "x"\nDETAIL:  Key (tenant_id, name)=(1, a)'
    assert internal_markers(text)
    assert internal_markers('{"title": "Conflict", "status": 409}') == []
    sqlite = "Experiment(name=x) already exists. Error: (sqlite3.IntegrityError) UNIQUE constraint failed: e.name\n"
    assert internal_markers(sqlite + "[SQL: INSERT INTO experiments (name) VALUES (?)]") == [
        "UNIQUE constraint failed",
        "[SQL: ",
    ]


def test_canary_registry_reports_only_foreign_canaries() -> None:
    registry = CanaryRegistry()
    mine, theirs = registry.issue("a"), registry.issue("b")
    assert registry.foreign(f"{mine} {theirs} tpcanary000000x0000000000", viewer="a") == {theirs: "b"}


def test_a_header_only_the_foreign_answer_has_is_an_oracle_unless_it_varies_on_its_own() -> None:
    foreign, missing = exchange(404, {"detail": "gone"}), exchange(404, {"detail": "gone"})
    foreign.response_headers["etag"] = 'W/"abc"'
    assert not looks_like_missing(foreign, missing, [])
    again = exchange(404, {"detail": "gone"})
    again.response_headers["etag"] = 'W/"other"'  # the target sends an ETag on some misses too: noise
    assert looks_like_missing(foreign, missing, [], again)


def test_secrets_are_found_by_shape_anywhere_and_by_name_only_in_reads() -> None:
    bcrypt = "$2b$12$" + "a" * 53
    body = {
        "user": {"hash": bcrypt, "search_token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "api_key": "k" * 20},
        "next_page_token": "abcdefghijkl",
        "password": "********",
        "title": "tpcanary000000x0000000000",
    }
    found = exposed_secrets(body, sent="", read=True)
    assert found == [
        "user.hash (a password hash)",
        "user.search_token (a JWT)",
        "user.api_key (a field named like a secret)",
    ]
    assert exposed_secrets(body, sent="", read=False) == ["user.hash (a password hash)"]
    assert exposed_secrets({"api_key": "k" * 20}, sent='{"api_key": "' + "k" * 20 + '"}', read=True) == []


def test_a_token_the_apis_paths_take_is_a_reference_but_a_credential_named_so_is_still_a_secret() -> None:
    """``file_token`` (Airflow's signed file path, taken by ``/dagSources/{file_token}``) is handed out to be used;
    ``api_key``, ``password`` and ``access_token`` say credential even where a path takes them, and a JWT in a
    reference is still a JWT."""
    path_params = {"file_token", "api_key", "password", "access_token", "share_token"}
    body = {
        "dag": {"file_token": "Ii9kYWdzL3RlYW1fYS5weSI.c2lnbmF0dXJl", "api_key": "k" * 20, "password": "p" * 12},
        "access_token": "a" * 20,
        "upload_token": "u" * 20,  # no path takes it: a secret by name, as before
        "share_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
    }
    assert exposed_secrets(body, sent="", read=True, is_reference=path_params.__contains__) == [
        "dag.api_key (a field named like a secret)",
        "dag.password (a field named like a secret)",
        "access_token (a field named like a secret)",
        "upload_token (a field named like a secret)",
        "share_token (a JWT)",
    ]
    assert "dag.file_token (a field named like a secret)" in exposed_secrets(body, sent="", read=True)


def test_another_tenants_credential_in_a_reference_field_is_still_found(tmp_path: Path) -> None:
    registry = CanaryRegistry()
    registry.remember_credential("victim-owner-token-0123", "victim")
    attacker = Actor("attacker:owner", TenantRef("a", "attacker"), "owner", "attacker-owner-token")
    writer = ResultWriter(tmp_path, "unit")
    probe = Probe("t", ProbeClient("http://127.0.0.1:9"), registry, writer, is_reference={"file_token"}.__contains__)
    for value in ("Ii9kYWdzL3RlYW1fYS5weSI.c2lnbmF0dXJl", "victim-owner-token-0123"):
        text = json.dumps({"dags": [{"dag_id": "a_pipeline", "file_token": value}]})
        probe.scan(Exchange(attacker, "GET", "http://t/dags", {}, None, 200, {}, text, 1.0))
    failed = [attempt.summary for attempts in probe.attempts.values() for attempt in attempts if not attempt.ok]
    assert failed == ["attacker:owner received 1 credential(s) of victim from GET http://t/dags"]


def test_foreign_ids_count_in_id_fields_and_short_ones_only_under_their_paths() -> None:
    registry = CanaryRegistry()
    registry.remember_id("7", "victim", "/api/tickets", "/api/tickets/{ticket_id}")
    registry.remember_id("0b6f2c1e-5d4a-4f7e-9a1b-3c2d1e0f9a8b", "victim")
    registry.remember_id("8", "attacker", "/api/tickets", "/api/tickets/{ticket_id}")
    body = {"items": [{"id": 7, "count": 7}, {"id": 8}], "owner_id": "0b6f2c1e-5d4a-4f7e-9a1b-3c2d1e0f9a8b"}
    references = referenced_values(body)
    assert ("items.0.count", "7") not in references  # not an id-bearing field
    assert registry.foreign_ids(references, "attacker", "/api/tickets") == {
        "items.0.id": "victim",
        "owner_id": "victim",
    }
    # The same 7 under another resource is some other object's id; the UUID is the victim's wherever it shows.
    assert registry.foreign_ids(references, "attacker", "/api/comments") == {"owner_id": "victim"}
    assert registry.foreign_ids(references, "victim", "/api/tickets") == {"items.1.id": "attacker"}


def test_ids_a_tenant_wrote_into_its_own_objects_are_not_a_leak_when_read_back() -> None:
    registry = CanaryRegistry()
    victims = "0b6f2c1e-5d4a-4f7e-9a1b-3c2d1e0f9a8b"
    registry.remember_id(victims, "victim")
    references = referenced_values({"id": "x", "project_id": victims})
    registry.plant(["unknown-value"], "attacker")
    assert registry.foreign_ids(references, "attacker", "/api/issues") == {"project_id": "victim"}
    registry.plant([victims], "attacker")  # the attacker's accepted write named the victim's project
    assert registry.foreign_ids(references, "attacker", "/api/issues") == {}
    assert registry.foreign_ids(references, "bystander", "/api/issues") == {"project_id": "victim"}


def test_a_canary_a_tenant_wrote_into_its_own_objects_is_not_a_leak_when_read_back() -> None:
    registry = CanaryRegistry()
    taken, other = registry.issue("victim"), registry.issue("victim")
    text = f'[{{"name": "{taken}"}}, {{"name": "{other}"}}]'
    registry.plant(registry.within(f'{{"name": "{taken}"}}'), "attacker")  # it reused the victim's name
    assert registry.foreign(text, "attacker") == {other: "victim"}
    assert registry.foreign(text, "bystander") == {taken: "victim", other: "victim"}


def test_foreign_credentials_are_named_by_owner_never_by_value() -> None:
    registry = CanaryRegistry()
    registry.remember_credential("acme-owner-token", "acme")
    registry.remember_credential("short", "acme")  # too short to mean anything when found
    assert registry.foreign_credentials('{"key": "acme-owner-token", "x": "short"}', "globex") == {"acme": 1}
    assert registry.foreign_credentials('{"key": "acme-owner-token"}', "acme") == {}


def test_what_a_tenant_only_searched_for_stays_foreign(tmp_path: Path) -> None:
    """A search naming the victim's canary plants nothing; a write carrying it makes it the writer's own."""
    registry = CanaryRegistry()
    victims = registry.issue("victim")
    attacker = Actor("attacker:owner", TenantRef("a", "attacker"), "owner", "t")
    probe = Probe("t", ProbeClient("http://127.0.0.1:9"), registry, ResultWriter(tmp_path, "unit"))

    def posted(body: dict[str, Any]) -> Exchange:
        return Exchange(attacker, "POST", "http://t/search", {}, body, 200, {}, "[]", 1.0)

    probe.scan(posted({"q": victims}), reads=True)
    assert registry.foreign(victims, "attacker") == {victims: "victim"}
    probe.scan(posted({"title": victims}))
    assert registry.foreign(victims, "attacker") == {}
