"""Cross-tenant analytics: platform admins only, aggregates only, no group smaller than k tenants."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx

from tests.reference_app.conftest import Tenant


def report(client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return client.get("/v1/admin/analytics/notes-per-plan", params={"days": 7}, headers=headers)


def test_groups_of_fewer_than_five_tenants_are_suppressed_then_shown_at_five(
    client: httpx.Client, new_tenant: Callable[..., Tenant], platform_headers: dict[str, str]
) -> None:
    markers = []
    for _ in range(4):
        tenant = new_tenant("enterprise")
        markers += [tenant.id, tenant.slug]
        for _ in range(2):
            client.post("/v1/notes", json={"title": (m := f"c{uuid.uuid4().hex}")}, headers=tenant.headers())
            markers.append(m)
    small = report(client, platform_headers)
    assert small.status_code == 200
    body = small.json()
    assert body["min_tenants"] == 5
    assert [g for g in body["groups"] if g["plan"] == "enterprise"] == []
    assert body["suppressed_groups"] >= 1
    fifth = new_tenant("enterprise")
    client.post("/v1/notes", json={"title": "fifth"}, headers=fifth.headers())
    shown = report(client, platform_headers)
    groups = [g for g in shown.json()["groups"] if g["plan"] == "enterprise"]
    assert len(groups) == 1
    assert (groups[0]["tenants"], groups[0]["notes"]) == (5, 9)
    assert set(groups[0]) == {"plan", "day", "tenants", "notes"}
    assert not [m for m in [*markers, fifth.id, fifth.slug] if m in shown.text], "no row-level data"


def test_tenants_cannot_read_analytics(client: httpx.Client, tenant_a: Tenant) -> None:
    for role in ("owner", "admin", "viewer"):
        assert report(client, tenant_a.headers(role)).status_code == 403
    assert report(client, {}).status_code == 401
