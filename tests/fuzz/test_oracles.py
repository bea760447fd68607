"""The fuzz suite's own oracles and reproductions, on hand-built exchanges (pure logic, no target)."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import httpx
import pytest
import schemathesis

from suites.fuzz.exchanges import FuzzExchange, effective_actor
from suites.fuzz.fuzzer import attack_control
from suites.fuzz.oracles import (
    CANARY,
    CONFORMANCE,
    HYGIENE,
    LIST_FILTER,
    NESTED,
    READ,
    ROBUSTNESS,
    WRITE,
    Provenance,
    builtin,
    foreign_markers,
    hygiene,
)
from tenantprobe.canaries import CanaryRegistry
from tenantprobe.credentials import TenantRef
from tenantprobe.probe import Actor

ALICE = TenantRef(str(uuid.uuid4()), "alice")
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl"


def _exchange(text: str, *, url: str = "http://app/v1/notes", sent: str | None = None) -> FuzzExchange:
    actor = Actor("alice:member", ALICE, "member", TOKEN)
    return FuzzExchange(
        actor=actor,
        method="GET" if sent is None else "POST",
        url=url,
        request_headers={"Authorization": f"Bearer {TOKEN}"},
        request_body=None,
        status=200,
        response_headers={"content-type": "application/json"},
        text=text,
        elapsed_ms=1.0,
        raw_body=sent,
    )


@pytest.fixture
def canaries() -> CanaryRegistry:
    return CanaryRegistry()


def test_member_receiving_another_tenants_canary_in_a_list_is_a_canary_and_list_finding(
    canaries: CanaryRegistry,
) -> None:
    bobs = canaries.issue("bob")
    verdict = foreign_markers(_exchange(f'[{{"title": "{bobs}"}}]'), canaries, Provenance(), collection=True)
    assert [(f.control, f.attacker, f.victim) for f in verdict.findings] == [
        (CANARY, "alice", "bob"),
        (LIST_FILTER, "alice", "bob"),
    ]


def test_member_receiving_its_own_canary_or_one_it_sent_passes(canaries: CanaryRegistry) -> None:
    own, bobs = canaries.issue("alice"), canaries.issue("bob")
    echoed = _exchange(f'{{"title": "{own} {bobs}"}}', sent=f'{{"title": "{bobs}"}}')
    verdict = foreign_markers(echoed, canaries, Provenance(), collection=True)
    assert verdict.findings == []
    assert (LIST_FILTER, None, None) in verdict.passed


def test_member_receiving_an_id_another_tenant_created_is_a_canary_finding(canaries: CanaryRegistry) -> None:
    provenance = Provenance()
    bobs_note = str(uuid.uuid4())
    provenance.register_body("bob", {"id": bobs_note.upper()})
    verdict = foreign_markers(_exchange(f'{{"id": "{bobs_note}"}}'), canaries, provenance, collection=False)
    assert [(f.control, f.victim) for f in verdict.findings] == [(CANARY, "bob")]


@pytest.mark.parametrize(
    ("url", "found"),
    [("http://app/v1/notes", True), ("http://app/v1/tickets", False)],
    ids=["under-its-path", "elsewhere"],
)
def test_a_short_integer_id_of_another_tenant_counts_under_the_path_it_lives_under(
    canaries: CanaryRegistry, url: str, found: bool
) -> None:
    canaries.remember_id("7", "bob", "/v1/notes")
    verdict = foreign_markers(_exchange('[{"id": 7}]', url=url), canaries, Provenance(), collection=True)
    assert [(f.control, f.victim) for f in verdict.findings] == (
        [(CANARY, "bob"), (LIST_FILTER, "bob")] if found else []
    )


def test_stack_trace_or_sql_error_in_a_response_is_a_hygiene_finding() -> None:
    leaked = _exchange('{"detail": "23505: duplicate key value violates unique constraint \\"tags_name_key\\""}')
    verdict = hygiene(leaked, [])
    assert [f.control for f in verdict.findings] == [HYGIENE]


def test_internal_looking_text_the_run_itself_sent_is_an_echo_not_a_leak() -> None:
    text = "Traceback (most recent call last):"
    verdict = hygiene(_exchange(f'{{"title": "{text}"}}'), [f'{{"title": "{text}"}}'])
    assert verdict.findings == []


def test_reproduction_names_the_token_as_a_shell_variable_and_redacts_nothing_else_it_needs() -> None:
    curl = _exchange("[]", sent='{"title": "x"}').curl()
    assert TOKEN not in curl
    assert '"Authorization: Bearer $TOKEN_ALICE_MEMBER"' in curl
    assert '--data-binary \'{"title": "x"}\'' in curl


def test_request_without_the_actors_credentials_is_judged_as_sent_by_nobody() -> None:
    actor = Actor("alice:member", ALICE, "member", TOKEN)
    assert effective_actor(actor, {"Authorization": f"Bearer {TOKEN}"}) is actor
    assert effective_actor(actor, {}).name == "anonymous"
    assert effective_actor(actor, {"Authorization": "Bearer garbage"}).name == "invalid-credentials"


@pytest.mark.parametrize(
    ("template", "method", "foreign", "control"),
    [
        ("/v1/notes/{note_id}", "GET", {"note_id"}, READ),
        ("/v1/notes/{note_id}", "PATCH", {"note_id"}, WRITE),
        ("/v1/notes/{note_id}/comments", "POST", {"note_id"}, NESTED),
        ("/v1/notes/{note_id}/comments/{comment_id}", "GET", {"comment_id"}, NESTED),
        ("/v1/notes/{note_id}/comments/{comment_id}", "DELETE", {"note_id", "comment_id"}, WRITE),
    ],
)
def test_a_case_with_foreign_ids_is_judged_under_the_control_it_tests(
    template: str, method: str, foreign: set[str], control: str
) -> None:
    assert attack_control(template, method, dict.fromkeys(foreign, "id")) == control


def _documented_only_200() -> Any:
    schema = schemathesis.openapi.from_dict(
        {
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {
                "/notes": {
                    "get": {
                        "responses": {
                            "200": {
                                "description": "ok",
                                "content": {"application/json": {"schema": {"type": "array"}}},
                            }
                        }
                    }
                }
            },
        }
    )
    return schema["/notes"]["GET"].Case()


def _response(status: int, body: bytes, content_type: str) -> schemathesis.Response:
    request = httpx.Request("GET", "http://app/notes")
    response = httpx.Response(status, content=body, headers={"content-type": content_type}, request=request)
    response.elapsed = datetime.timedelta(milliseconds=1)  # set by a transport once the body is read
    return schemathesis.Response.from_httpx(response, verify=True)


@pytest.mark.parametrize(
    ("status", "body", "content_type", "failed"),
    [
        (200, b"[]", "application/json", set()),
        (418, b"{}", "application/json", {CONFORMANCE}),
        (200, b"[]", "text/csv", {CONFORMANCE}),
        (200, b"{}", "application/json", {CONFORMANCE}),
        (500, b"{}", "application/json", {ROBUSTNESS}),
    ],
    ids=["documented", "undocumented-status", "undocumented-type", "schema-mismatch", "server-error"],
)
def test_conformance_failures_are_kept_apart_from_robustness_findings(
    status: int, body: bytes, content_type: str, failed: set[str]
) -> None:
    verdict = builtin(
        _documented_only_200(), _response(status, body, content_type), _exchange("[]"), {}, auth_probe=False
    )
    assert {finding.control for finding in verdict.findings} == failed
    assert {control for control, _, _ in verdict.passed} == {ROBUSTNESS, CONFORMANCE} - failed
