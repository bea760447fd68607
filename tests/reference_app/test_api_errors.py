"""Errors: problem+json, foreign ids indistinguishable from missing ones, nothing internal leaks."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.reference_app.conftest import Tenant


@pytest.fixture(scope="module")
def b_objects(client: httpx.Client, tenant_b: Tenant) -> dict[str, str]:
    """Paths of one object of every kind owned by tenant B."""
    h = tenant_b.headers("admin")
    note = client.post("/v1/notes", json={"title": "B only", "body": "b-canary"}, headers=h).json()["id"]
    comment = client.post(f"/v1/notes/{note}/comments", json={"body": "b"}, headers=h).json()["id"]
    attachment = client.post(
        f"/v1/notes/{note}/attachments",
        json={"filename": "b.txt", "content_type": "text/plain", "size_bytes": 3},
        headers=h,
    ).json()["id"]
    tag = client.post("/v1/tags", json={"name": "b-tag"}, headers=h).json()["id"]
    member = client.post("/v1/members", json={"subject": "b-user", "role": "member"}, headers=h).json()["id"]
    return {
        "note": f"/v1/notes/{note}",
        "comment": f"/v1/notes/{note}/comments/{comment}",
        "attachment": f"/v1/notes/{note}/attachments/{attachment}",
        "tag": f"/v1/tags/{tag}",
        "member": f"/v1/members/{member}",
        "comments": f"/v1/notes/{note}/comments",
    }


def _missing(path: str) -> str:
    """The same path with its last id replaced by one that exists nowhere."""
    head, _, _ = path.rstrip("/").rpartition("/")
    return f"{head}/{uuid.uuid4()}"


CASES = [
    ("GET", "note"),
    ("PATCH", "note"),
    ("DELETE", "note"),
    ("GET", "comment"),
    ("DELETE", "comment"),
    ("GET", "attachment"),
    ("DELETE", "attachment"),
    ("DELETE", "tag"),
    ("GET", "member"),
    ("PATCH", "member"),
    ("DELETE", "member"),
]
BODIES = {("PATCH", "note"): {"title": "pwned"}, ("PATCH", "member"): {"role": "viewer"}}


@pytest.mark.parametrize(("method", "kind"), CASES)
def test_foreign_id_answers_exactly_like_a_missing_id(
    method: str, kind: str, client: httpx.Client, tenant_a: Tenant, b_objects: dict[str, str]
) -> None:
    body = BODIES.get((method, kind))
    headers = tenant_a.headers("admin")
    foreign = client.request(method, b_objects[kind], json=body, headers=headers)
    missing = client.request(method, _missing(b_objects[kind]), json=body, headers=headers)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert foreign.headers["content-type"] == missing.headers["content-type"] == "application/problem+json"


def test_foreign_writes_leave_the_owner_data_untouched(
    client: httpx.Client, tenant_a: Tenant, tenant_b: Tenant, b_objects: dict[str, str]
) -> None:
    client.patch(b_objects["note"], json={"title": "pwned"}, headers=tenant_a.headers())
    client.delete(b_objects["note"], headers=tenant_a.headers())
    note = client.get(b_objects["note"], headers=tenant_b.headers())
    assert note.status_code == 200
    assert note.json()["title"] == "B only"


def test_comment_under_foreign_note_is_not_found(
    client: httpx.Client, tenant_a: Tenant, b_objects: dict[str, str]
) -> None:
    response = client.post(b_objects["comments"], json={"body": "x"}, headers=tenant_a.headers())
    assert response.status_code == 404


def test_validation_error_names_fields_without_echoing_input(client: httpx.Client, tenant_a: Tenant) -> None:
    response = client.post("/v1/notes", json={"title": "", "body": 5}, headers=tenant_a.headers())
    assert response.status_code == 422
    problem = response.json()
    assert {error["field"] for error in problem["errors"]} == {"body.title", "body.body"}
    assert all(set(error) == {"field", "message"} for error in problem["errors"]), "no echoed input"


def test_malformed_id_is_a_422_not_a_500(client: httpx.Client, tenant_a: Tenant) -> None:
    response = client.get("/v1/notes/not-a-uuid", headers=tenant_a.headers())
    assert response.status_code == 422


def test_oversized_body_is_refused_with_413(client: httpx.Client, tenant_a: Tenant) -> None:
    response = client.post(
        "/v1/notes",
        content=b'{"title": "' + b"x" * (2 * 1024 * 1024) + b'"}',
        headers={**tenant_a.headers(), "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_unknown_route_is_problem_json(client: httpx.Client) -> None:
    response = client.get("/v1/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_conflict_error_carries_no_database_detail(client: httpx.Client, tenant_a: Tenant) -> None:
    client.post("/v1/tags", json={"name": "dup"}, headers=tenant_a.headers())
    response = client.post("/v1/tags", json={"name": "dup"}, headers=tenant_a.headers())
    assert response.status_code == 409
    for internal in ("tags_tenant_id_name_key", "23505", "DETAIL", "Key (", "Traceback"):
        assert internal not in response.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("POST", "/v1/notes", {"title": "\x00"}, id="nul-in-title"),
        pytest.param("GET", "/v1/notes?tag=%00", None, id="nul-in-query"),
        pytest.param("GET", "/v1/notes/search?q=%00", None, id="nul-in-search"),
    ],
)
def test_member_sending_text_postgresql_cannot_store_gets_422(
    client: httpx.Client, tenant_a: Tenant, method: str, path: str, body: dict[str, str] | None
) -> None:
    # Found by the fuzz suite: a NUL character reached the driver and answered 500.
    response = client.request(method, path, json=body, headers=tenant_a.headers("member"))
    assert response.status_code == 422
    assert response.json()["title"] == "Invalid input"
    assert "detail" not in response.json(), "nothing from the driver"
