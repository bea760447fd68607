"""The tenant lifecycle: timed idempotent provisioning, suspension, deprovisioning that proves
no row is left (the job queue included), and a platform audit trail."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx
import psycopg

from reference_app.database import DatabaseUrls
from tests.reference_app.conftest import Tenant


def test_provisioning_reports_its_duration(client: httpx.Client, platform_headers: dict[str, str]) -> None:
    slug = f"timed-{uuid.uuid4().hex[:8]}"
    response = client.post("/v1/admin/tenants", json={"slug": slug, "name": slug}, headers=platform_headers)
    assert response.status_code == 201
    assert response.headers["Server-Timing"].startswith("provision;dur=")


def test_suspension_is_immediate_and_audited(
    client: httpx.Client, new_tenant: Callable[..., Tenant], platform_headers: dict[str, str], db: DatabaseUrls
) -> None:
    tenant = new_tenant()
    note = client.post("/v1/notes", json={"title": "cached"}, headers=tenant.headers()).json()["id"]
    assert client.get(f"/v1/notes/{note}", headers=tenant.headers()).status_code == 200  # now in the cache
    client.post(f"/v1/admin/tenants/{tenant.id}/suspend", headers=platform_headers).raise_for_status()
    assert client.get(f"/v1/notes/{note}", headers=tenant.headers()).status_code == 401, "no cache hit skips the check"
    assert client.get("/v1/notes/search", params={"q": "cached"}, headers=tenant.headers()).status_code == 401
    client.post(f"/v1/admin/tenants/{tenant.id}/activate", headers=platform_headers).raise_for_status()
    with psycopg.connect(db.platform) as conn:
        actions = [
            row
            for row in conn.execute(
                "select action, actor from audit_log where tenant_id = %s and entity = 'tenant' order by id",
                (tenant.id,),
            )
        ]
    assert actions == [("suspend", "platform:ops"), ("activate", "platform:ops")]


def test_deprovisioning_removes_jobs_too_and_unknown_tenants_are_404(
    client: httpx.Client, new_tenant: Callable[..., Tenant], platform_headers: dict[str, str], db: DatabaseUrls
) -> None:
    tenant = new_tenant()
    client.post("/v1/notes", json={"title": "doomed"}, headers=tenant.headers())
    job = client.post("/v1/exports", headers=tenant.headers("admin")).json()["id"]
    deadline = time.monotonic() + 10
    while client.get(f"/v1/exports/{job}", headers=tenant.headers("admin")).json()["status"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    removed = client.delete(f"/v1/admin/tenants/{tenant.id}", headers=platform_headers)
    assert removed.status_code == 204
    assert removed.headers["Server-Timing"].startswith("deprovision;dur=")
    with psycopg.connect(db.platform) as conn:
        assert conn.execute("select count(*) from jobs where tenant_id = %s", (tenant.id,)).fetchone() == (0,)
        assert conn.execute("select count(*) from tenants where id = %s", (tenant.id,)).fetchone() == (0,)
    again = client.delete(f"/v1/admin/tenants/{tenant.id}", headers=platform_headers)
    assert again.status_code == 404
