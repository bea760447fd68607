"""Background jobs: exports built by the worker process in the job's tenant context, foreign jobs
invisible, and restores into a new tenant that preserve every row."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from reference_app.dal import Database, jobs
from reference_app.database import DatabaseUrls
from tests.conftest import one, tenant_tables
from tests.reference_app.conftest import Tenant


def wait_for(client: httpx.Client, url: str, headers: dict[str, str], timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(url, headers=headers).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job at {url} did not finish in {timeout} s")


def export(client: httpx.Client, tenant: Tenant) -> tuple[str, dict[str, Any]]:
    h = tenant.headers("admin")
    created = client.post("/v1/exports", headers=h)
    assert created.status_code == 202, created.text
    job = wait_for(client, f"/v1/exports/{created.json()['id']}", h)
    assert job["status"] == "succeeded", job
    download = client.get(f"/v1/exports/{job['id']}/download", headers=h)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/json"
    return job["id"], download.json()


def populate(client: httpx.Client, tenant: Tenant, marker: str) -> None:
    h = tenant.headers("admin")
    for i in range(3):
        note = client.post(
            "/v1/notes", json={"title": f"{marker}-{i}", "body": marker, "tags": ["t1", f"t{i}"]}, headers=h
        ).json()["id"]
        client.post(f"/v1/notes/{note}/comments", json={"body": f"{marker} c{i}"}, headers=h)
        client.post(
            f"/v1/notes/{note}/attachments",
            json={"filename": f"{marker}.txt", "content_type": "text/plain", "size_bytes": 10 + i},
            headers=h,
        )
    client.post(
        "/v1/members", json={"subject": f"{marker}-user", "email": "u@example.com", "role": "viewer"}, headers=h
    )


def test_admin_export_holds_every_row_of_its_tenant_and_nothing_else(
    client: httpx.Client, new_tenant: Callable[..., Tenant], db: DatabaseUrls
) -> None:
    owner, other = new_tenant(), new_tenant()
    mine, theirs = f"a{uuid.uuid4().hex}", f"b{uuid.uuid4().hex}"
    populate(client, owner, mine)
    populate(client, other, theirs)
    _, bundle = export(client, owner)
    assert theirs not in str(bundle)
    assert other.id not in str(bundle)
    with psycopg.connect(db.platform) as conn:
        for table, rows in bundle["tables"].items():
            count = one(conn, f"select count(*) from {table} where tenant_id = %s", (owner.id,))
            # The export's own audit row is written when it is requested, before it runs.
            assert len(rows) == count[0], table
    assert bundle["counts"]["notes"] == 3
    assert bundle["counts"]["comments"] == 3
    assert bundle["source"]["tenant_id"] == owner.id


def test_export_covers_every_tenant_table_but_the_job_queue(db: DatabaseUrls) -> None:
    from reference_app.dal.bundle import EXCLUDED_TABLES, TABLES

    with psycopg.connect(db.platform) as conn:
        tables = set(tenant_tables(conn))
    assert tables == {spec.name for spec in TABLES} | EXCLUDED_TABLES


def test_foreign_export_answers_exactly_like_a_missing_one(
    client: httpx.Client, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    job_id, _ = export(client, tenant_a)
    missing = str(uuid.uuid4())
    for suffix in ("", "/download"):
        foreign = client.get(f"/v1/exports/{job_id}{suffix}", headers=tenant_b.headers("admin"))
        absent = client.get(f"/v1/exports/{missing}{suffix}", headers=tenant_b.headers("admin"))
        assert foreign.status_code == absent.status_code == 404
        assert foreign.text == absent.text
    assert job_id not in client.get("/v1/exports", headers=tenant_b.headers("admin")).text


def test_member_cannot_export(client: httpx.Client, tenant_a: Tenant) -> None:
    assert client.post("/v1/exports", headers=tenant_a.headers("member")).status_code == 403
    assert client.get("/v1/exports", headers=tenant_a.headers("viewer")).status_code == 403


def test_interleaved_exports_of_many_tenants_each_hold_only_their_own_rows(
    client: httpx.Client, new_tenant: Callable[..., Tenant]
) -> None:
    crowd = [new_tenant() for _ in range(4)]
    markers = {tenant.id: f"m{uuid.uuid4().hex}" for tenant in crowd}
    for tenant in crowd:
        client.post("/v1/notes", json={"title": markers[tenant.id]}, headers=tenant.headers())
    queued = {tenant.id: client.post("/v1/exports", headers=tenant.headers("admin")).json()["id"] for tenant in crowd}
    for tenant in crowd:
        h = tenant.headers("admin")
        assert wait_for(client, f"/v1/exports/{queued[tenant.id]}", h)["status"] == "succeeded"
        text = client.get(f"/v1/exports/{queued[tenant.id]}/download", headers=h).text
        assert markers[tenant.id] in text
        assert [m for tid, m in markers.items() if tid != tenant.id and m in text] == []


def _without_ids(bundle: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Rows as sorted tuples with every id replaced by its row's natural key (title, name, body...),
    so a restore with remapped ids compares equal to its source."""
    natural = {"users": "subject", "notes": "title", "tags": "name", "comments": "body", "attachments": "size_bytes"}
    names = {row["id"]: (table, row[key]) for table, key in natural.items() for row in bundle["tables"][table]}
    out = {}
    for table, rows in bundle["tables"].items():
        out[table] = sorted(
            tuple((c, names.get(row[c], row[c])) for c in sorted(row) if not (table == "audit_log" and c == "id"))
            for row in rows
        )
    return out


def test_restore_into_a_new_tenant_preserves_every_row_with_new_ids(
    client: httpx.Client, new_tenant: Callable[..., Tenant], platform_headers: dict[str, str], signing_key: Any
) -> None:
    source = new_tenant("pro")
    populate(client, source, f"r{uuid.uuid4().hex}")
    _, original = export(client, source)
    slug = f"restored-{uuid.uuid4().hex[:8]}"
    accepted = client.post(
        "/v1/admin/imports", json={"slug": slug, "name": "Restored", "bundle": original}, headers=platform_headers
    )
    assert accepted.status_code == 202, accepted.text
    restored = accepted.json()["tenant"]
    assert (restored["status"], restored["plan"]) == ("suspended", "pro")
    job = wait_for(client, f"/v1/admin/tenants/{restored['id']}/jobs/{accepted.json()['job']['id']}", platform_headers)
    assert job["status"] == "succeeded", job
    assert client.get(f"/v1/admin/tenants/{restored['id']}", headers=platform_headers).json()["status"] == "active"
    _, copy = export(client, Tenant(restored["id"], slug, signing_key))
    before, after = _without_ids(original), _without_ids(copy)
    for table in before:
        if table == "audit_log":
            # The restore adds its own audit entry, and exporting the copy adds one.
            extra = [row for row in after[table] if row not in before[table]]
            assert sorted(dict(row)["action"] for row in extra) == ["create", "import"]
            assert len(after[table]) == len(before[table]) + 2
        else:
            assert after[table] == before[table], table
    old_ids = {v for rows in original["tables"].values() for row in rows for k, v in row.items() if k == "id"}
    new_ids = {v for rows in copy["tables"].values() for row in rows for k, v in row.items() if k == "id"}
    assert not ({i for i in old_ids if isinstance(i, str)} & {i for i in new_ids if isinstance(i, str)})


def test_restore_needs_a_new_slug_and_a_well_formed_bundle(
    client: httpx.Client, tenant_a: Tenant, platform_headers: dict[str, str]
) -> None:
    _, bundle = export(client, tenant_a)
    taken = client.post(
        "/v1/admin/imports", json={"slug": tenant_a.slug, "name": "x", "bundle": bundle}, headers=platform_headers
    )
    assert taken.status_code == 409
    broken = {**bundle, "tables": {**bundle["tables"], "notes": [{"id": "x"}]}}
    bad = client.post(
        "/v1/admin/imports",
        json={"slug": f"new-{uuid.uuid4().hex[:8]}", "name": "x", "bundle": broken},
        headers=platform_headers,
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert (
        client.post(
            "/v1/admin/imports", json={"slug": "x1", "name": "x", "bundle": bundle}, headers=tenant_a.headers("owner")
        ).status_code
        == 403
    )


def test_concurrent_claims_never_take_the_same_job(db: DatabaseUrls) -> None:
    """The queue claim uses FOR UPDATE SKIP LOCKED: two workers in flight get two different jobs."""
    with psycopg.connect(db.platform) as conn:
        tenant = one(
            conn, "insert into tenants (slug, name) values (%s, 'q') returning id", (f"q-{uuid.uuid4().hex[:8]}",)
        )[0]
        for _ in range(2):
            conn.execute("insert into jobs (tenant_id, kind, requested_by) values (%s, 'export', 't')", (tenant,))

    async def claim_both() -> list[jobs.ClaimedJob | None]:
        database = Database(db.app, db.platform)
        await database.open()
        try:
            async with database.platform("test: first claim") as one, database.platform("test: second claim") as two:
                return [await jobs.claim_next(one), await jobs.claim_next(two)]
        finally:
            await database.close()

    first, second = asyncio.run(claim_both())
    assert first is not None
    assert second is not None
    assert first.id != second.id


def test_export_is_one_snapshot_while_the_tenant_writes(db: DatabaseUrls, monkeypatch: pytest.MonkeyPatch) -> None:
    """A note and its comment committed between the export's reads of two tables stay out of the bundle.

    At READ COMMITTED the comment would be in and its note not: a bundle that cannot be restored."""
    from reference_app.dal.session import TenantSession
    from reference_app.worker import ExportRunner

    async def export_while_writing() -> dict[str, Any]:
        database = Database(db.app, db.platform, max_size=1)
        await database.open()
        try:
            async with database.platform("test: a tenant to export") as platform:
                slug = f"snap-{uuid.uuid4().hex[:8]}"
                row = await platform.fetch_one(
                    "insert into tenants (slug, name) values (%(slug)s, %(slug)s) returning id", {"slug": slug}
                )
            assert row is not None
            tenant_id = row["id"]
            read = TenantSession.fetch_all

            async def read_then_write(self: TenantSession, query: str, params: Any = None) -> Any:
                rows = await read(self, query, params)
                if query.startswith("select id, title"):  # the notes table was just read
                    async with database.platform("test: the tenant writes during its export") as platform:
                        note = await platform.fetch_one(
                            "insert into notes (tenant_id, title, body, author) "
                            "values (%(t)s, 'late', 'late', 'x') returning id",
                            {"t": tenant_id},
                        )
                        assert note is not None
                        await platform.execute(
                            "insert into comments (tenant_id, note_id, body, author) "
                            "values (%(t)s, %(n)s, 'late', 'x')",
                            {"t": tenant_id, "n": note["id"]},
                        )
                return rows

            monkeypatch.setattr(TenantSession, "fetch_all", read_then_write)
            result: dict[str, Any] = json.loads(await ExportRunner(database, tenant_id).build())
            return result
        finally:
            await database.close()

    exported = asyncio.run(export_while_writing())
    assert (exported["tables"]["notes"], exported["tables"]["comments"]) == ([], [])
