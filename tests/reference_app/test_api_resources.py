"""Resource behaviour over HTTP: notes, pagination, search, nested resources, tenant lifecycle."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import psycopg

from reference_app.database import DatabaseUrls
from tests.conftest import tenant_rows, tenant_tables
from tests.reference_app.conftest import Tenant


def test_note_crud_round_trip(client: httpx.Client, tenant_a: Tenant) -> None:
    h = tenant_a.headers()
    created = client.post("/v1/notes", json={"title": "plan", "body": "text", "tags": ["x", "y", "x"]}, headers=h)
    assert created.status_code == 201
    note = created.json()
    assert note["tags"] == ["x", "y"]
    assert note["author"] == "member@" + tenant_a.slug
    updated = client.patch(f"/v1/notes/{note['id']}", json={"body": "new"}, headers=h).json()
    assert (updated["title"], updated["body"]) == ("plan", "new")
    assert client.delete(f"/v1/notes/{note['id']}", headers=h).status_code == 204
    assert client.get(f"/v1/notes/{note['id']}", headers=h).status_code == 404


def test_cursor_pagination_visits_every_note_once(client: httpx.Client, new_tenant: Callable[..., Tenant]) -> None:
    tenant = new_tenant()
    h = tenant.headers()
    created = {client.post("/v1/notes", json={"title": f"n{i}"}, headers=h).json()["id"] for i in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/notes", params=params, headers=h).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(created)
    assert client.get("/v1/notes/count", headers=h).json() == {"count": 7}


def test_bad_cursor_is_a_400(client: httpx.Client, tenant_a: Tenant) -> None:
    assert client.get("/v1/notes", params={"cursor": "!!"}, headers=tenant_a.headers()).status_code == 400


def test_tag_filter_and_search(client: httpx.Client, new_tenant: Callable[..., Tenant]) -> None:
    tenant = new_tenant()
    h = tenant.headers()
    marker = uuid.uuid4().hex
    client.post("/v1/notes", json={"title": "tagged", "body": marker, "tags": ["red"]}, headers=h)
    client.post("/v1/notes", json={"title": "plain", "body": "nothing"}, headers=h)
    tagged = client.get("/v1/notes", params={"tag": "red"}, headers=h).json()["items"]
    assert [note["title"] for note in tagged] == ["tagged"]
    found = client.get("/v1/notes/search", params={"q": marker}, headers=h).json()
    assert [note["title"] for note in found] == ["tagged"]
    assert [tag["name"] for tag in client.get("/v1/tags", headers=h).json()] == ["red"]


def test_comments_and_attachments_under_a_note(client: httpx.Client, tenant_a: Tenant) -> None:
    h = tenant_a.headers()
    note = client.post("/v1/notes", json={"title": "parent"}, headers=h).json()["id"]
    comment = client.post(f"/v1/notes/{note}/comments", json={"body": "hi"}, headers=h).json()
    attachment = client.post(
        f"/v1/notes/{note}/attachments",
        json={"filename": "a.pdf", "content_type": "application/pdf", "size_bytes": 10},
        headers=h,
    ).json()
    assert [c["id"] for c in client.get(f"/v1/notes/{note}/comments", headers=h).json()] == [comment["id"]]
    assert [a["id"] for a in client.get(f"/v1/notes/{note}/attachments", headers=h).json()] == [attachment["id"]]
    other = client.post("/v1/notes", json={"title": "other"}, headers=h).json()["id"]
    assert client.get(f"/v1/notes/{other}/comments/{comment['id']}", headers=h).status_code == 404


def test_every_write_is_audited(client: httpx.Client, new_tenant: Callable[..., Tenant], db: DatabaseUrls) -> None:
    tenant = new_tenant()
    h = tenant.headers()
    note = client.post("/v1/notes", json={"title": "audited"}, headers=h).json()["id"]
    client.patch(f"/v1/notes/{note}", json={"title": "again"}, headers=h)
    client.delete(f"/v1/notes/{note}", headers=h)
    with psycopg.connect(db.platform) as conn:
        actions = conn.execute("select action from audit_log where tenant_id = %s order by id", (tenant.id,)).fetchall()
    assert [a for (a,) in actions] == ["create", "update", "delete"]


def test_provisioning_is_idempotent_on_slug(client: httpx.Client, platform_headers: dict[str, str]) -> None:
    body = {"slug": f"idem-{uuid.uuid4().hex[:8]}", "name": "Idem"}
    first = client.post("/v1/admin/tenants", json=body, headers=platform_headers)
    second = client.post("/v1/admin/tenants", json=body, headers=platform_headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


def test_deprovisioning_removes_every_row_of_the_tenant(
    client: httpx.Client,
    new_tenant: Callable[..., Tenant],
    platform_headers: dict[str, str],
    db: DatabaseUrls,
) -> None:
    tenant = new_tenant()
    h = tenant.headers("admin")
    note = client.post("/v1/notes", json={"title": "doomed", "tags": ["t"]}, headers=h).json()["id"]
    client.post(f"/v1/notes/{note}/comments", json={"body": "c"}, headers=h)
    client.post("/v1/members", json={"subject": "x", "role": "viewer"}, headers=h)
    assert client.delete(f"/v1/admin/tenants/{tenant.id}", headers=platform_headers).status_code == 204
    with psycopg.connect(db.platform) as conn:
        assert tenant_tables(conn)
        assert tenant_rows(conn, tenant.id) == {}
    assert client.get("/v1/me", headers=tenant.headers()).status_code == 401


def test_me_describes_the_caller(client: httpx.Client, tenant_a: Tenant) -> None:
    me = client.get("/v1/me", headers=tenant_a.headers("viewer")).json()
    assert (me["tenant"]["id"], me["roles"], me["subject"]) == (
        tenant_a.id,
        ["viewer"],
        f"viewer@{tenant_a.slug}",
    )


def test_recent_notes_are_kept_per_tenant_and_user(client: httpx.Client, tenant_a: Tenant, tenant_b: Tenant) -> None:
    """Two tenants may each have a user "alice" (their own identity providers): each sees only their own list."""
    alice_a = {"Authorization": f"Bearer {tenant_a.token(subject='alice')}"}
    alice_b = {"Authorization": f"Bearer {tenant_b.token(subject='alice')}"}
    first, second = (client.post("/v1/notes", json={"title": t}, headers=alice_a).json()["id"] for t in ("1", "2"))
    for note in (first, second, first):
        assert client.get(f"/v1/notes/{note}", headers=alice_a).status_code == 200
    recent = client.get("/v1/me/recent-notes", headers=alice_a)
    assert [item["id"] for item in recent.json()] == [first, second], "newest first, each note once"
    assert client.get("/v1/me/recent-notes", headers=alice_b).json() == []
    assert client.get("/v1/me/recent-notes", headers=tenant_a.headers()).json() == [], "another user of tenant a"


def test_health_and_readiness(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}
