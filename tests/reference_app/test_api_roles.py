"""Authorization inside a tenant: viewer reads, member writes, admin manages members, owner makes owners."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.reference_app.conftest import Tenant

OPERATIONS: dict[str, tuple[str, str, dict[str, str] | None]] = {
    "read_notes": ("GET", "/v1/notes", None),
    "write_note": ("POST", "/v1/notes", {"title": "written"}),
    "list_members": ("GET", "/v1/members", None),
    "add_member": ("POST", "/v1/members", {"role": "member"}),
    "add_owner": ("POST", "/v1/members", {"role": "owner"}),
}
ALLOWED = {
    "read_notes": {"viewer", "member", "admin", "owner"},
    "write_note": {"member", "admin", "owner"},
    "list_members": {"admin", "owner"},
    "add_member": {"admin", "owner"},
    "add_owner": {"owner"},
}
ROLES = ("viewer", "member", "admin", "owner")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_role_matrix(operation: str, role: str, client: httpx.Client, tenant_a: Tenant) -> None:
    method, path, body = OPERATIONS[operation]
    if path == "/v1/members" and body:
        body = {**body, "subject": f"user-{uuid.uuid4().hex[:8]}"}
    response = client.request(method, path, json=body, headers=tenant_a.headers(role))
    if role in ALLOWED[operation]:
        assert response.status_code in (200, 201), response.text
    else:
        assert response.status_code == 403, response.text


def test_admin_cannot_promote_a_member_to_owner(client: httpx.Client, tenant_a: Tenant) -> None:
    member = client.post(
        "/v1/members",
        json={"subject": f"u-{uuid.uuid4().hex[:8]}", "role": "member"},
        headers=tenant_a.headers("admin"),
    ).json()
    response = client.patch(f"/v1/members/{member['id']}", json={"role": "owner"}, headers=tenant_a.headers("admin"))
    assert response.status_code == 403


def test_demoting_or_removing_a_member_takes_effect_on_their_next_request(
    client: httpx.Client, tenant_a: Tenant
) -> None:
    """Roles come from the member list as well as the token: the member's token is never re-issued here."""
    subject = f"revoked-{uuid.uuid4().hex[:8]}"
    theirs = {"Authorization": f"Bearer {tenant_a.token('admin', subject=subject)}"}
    owner = tenant_a.headers("owner")
    added = client.post("/v1/members", json={"subject": subject, "role": "admin"}, headers=owner)
    assert added.status_code == 201, added.text
    assert client.get("/v1/members", headers=theirs).status_code == 200

    demoted = client.patch(f"/v1/members/{added.json()['id']}", json={"role": "viewer"}, headers=owner)
    assert demoted.status_code == 200, demoted.text
    assert client.get("/v1/members", headers=theirs).status_code == 403
    assert client.post("/v1/notes", json={"title": "as a viewer"}, headers=theirs).status_code == 403
    assert client.get("/v1/me", headers=theirs).json()["roles"] == ["viewer"]
    assert client.get("/v1/notes", headers=theirs).status_code == 200

    assert client.delete(f"/v1/members/{added.json()['id']}", headers=owner).status_code == 204
    refused = client.get("/v1/notes", headers=theirs)
    assert refused.status_code == 403, refused.text
    assert "removed" in refused.json()["detail"]

    readded = client.post("/v1/members", json={"subject": subject, "role": "member"}, headers=owner)
    assert readded.status_code == 201, readded.text
    assert client.post("/v1/notes", json={"title": "back"}, headers=theirs).status_code == 201
    assert client.get("/v1/members", headers=theirs).status_code == 403  # the list caps the token's admin
