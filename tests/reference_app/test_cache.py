"""The tenant-scoped cache: bounded, expiring, tenant in every key; the hot note read uses it and
writes invalidate it; Redis serves as the backend when configured."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from fakeredis import TcpFakeServer

from reference_app.cache import MemoryCache, cache_key
from reference_app.database import DatabaseUrls
from tenantprobe.child import free_port
from tenantprobe.stack import ReferenceStack, RoleDsns
from tests.conftest import new_database
from tests.reference_app.conftest import SETTINGS, Tenant


def test_every_key_carries_the_tenant() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    assert str(a) in cache_key(a, "note:1")
    assert cache_key(a, "note:1") != cache_key(b, "note:1")


def test_memory_cache_is_bounded_and_evicts_least_recently_used() -> None:
    async def scenario() -> tuple[bytes | None, bytes | None, int]:
        cache = MemoryCache(max_entries=2, ttl_seconds=60)
        tenant = uuid.uuid4()
        await cache.set(tenant, "a", b"1")
        await cache.set(tenant, "b", b"2")
        await cache.get(tenant, "a")  # a is now the most recently used
        await cache.set(tenant, "c", b"3")
        return await cache.get(tenant, "a"), await cache.get(tenant, "b"), len(cache)

    assert asyncio.run(scenario()) == (b"1", None, 2)


def test_a_memory_cache_of_no_entries_keeps_nothing() -> None:
    """What the API uses in each of several processes without Redis: a write in one must not be hidden."""

    async def scenario() -> tuple[bytes | None, int]:
        cache = MemoryCache(max_entries=0, ttl_seconds=60)
        tenant = uuid.uuid4()
        await cache.set(tenant, "a", b"1")
        return await cache.get(tenant, "a"), len(cache)

    assert asyncio.run(scenario()) == (None, 0)


def test_memory_cache_entries_expire() -> None:
    async def scenario() -> bytes | None:
        cache = MemoryCache(max_entries=10, ttl_seconds=0.01)
        tenant = uuid.uuid4()
        await cache.set(tenant, "a", b"1")
        await asyncio.sleep(0.05)
        return await cache.get(tenant, "a")

    assert asyncio.run(scenario()) is None


def test_clearing_one_tenant_keeps_the_others() -> None:
    async def scenario() -> tuple[bytes | None, bytes | None]:
        cache = MemoryCache(max_entries=10, ttl_seconds=60)
        a, b = uuid.uuid4(), uuid.uuid4()
        await cache.set(a, "k", b"a")
        await cache.set(b, "k", b"b")
        await cache.clear_tenant(a)
        return await cache.get(a, "k"), await cache.get(b, "k")

    assert asyncio.run(scenario()) == (None, b"b")


def _retitle_behind_the_apps_back(dsn: str, note_id: str, title: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("update notes set title = %s where id = %s", (title, note_id))


def test_note_read_is_served_from_the_cache_until_a_write_invalidates_it(
    client: httpx.Client, tenant_a: Tenant, db: DatabaseUrls
) -> None:
    h = tenant_a.headers()
    note = client.post("/v1/notes", json={"title": "first"}, headers=h).json()["id"]
    assert client.get(f"/v1/notes/{note}", headers=h).json()["title"] == "first"
    _retitle_behind_the_apps_back(db.platform, note, "changed in the database")
    assert client.get(f"/v1/notes/{note}", headers=h).json()["title"] == "first", "the second read is a cache hit"
    client.patch(f"/v1/notes/{note}", json={"body": "edited"}, headers=h).raise_for_status()
    assert client.get(f"/v1/notes/{note}", headers=h).json()["title"] == "changed in the database"
    client.delete(f"/v1/notes/{note}", headers=h)
    assert client.get(f"/v1/notes/{note}", headers=h).status_code == 404


def test_cached_note_is_not_served_to_another_tenant(client: httpx.Client, tenant_a: Tenant, tenant_b: Tenant) -> None:
    note = client.post("/v1/notes", json={"title": "mine"}, headers=tenant_a.headers()).json()["id"]
    client.get(f"/v1/notes/{note}", headers=tenant_a.headers()).raise_for_status()
    assert client.get(f"/v1/notes/{note}", headers=tenant_b.headers()).status_code == 404


def test_deleting_a_tag_drops_the_cached_notes_that_listed_it(client: httpx.Client, tenant_a: Tenant) -> None:
    h = tenant_a.headers()
    note = client.post("/v1/notes", json={"title": "tagged", "tags": ["gone"]}, headers=h).json()["id"]
    assert client.get(f"/v1/notes/{note}", headers=h).json()["tags"] == ["gone"]
    tag = next(t["id"] for t in client.get("/v1/tags", headers=h).json() if t["name"] == "gone")
    client.delete(f"/v1/tags/{tag}", headers=h).raise_for_status()
    assert client.get(f"/v1/notes/{note}", headers=h).json()["tags"] == []


@pytest.fixture(scope="module")
def redis_server() -> Iterator[str]:
    port = free_port()
    server = TcpFakeServer(("127.0.0.1", port))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{port}/0"
    server.shutdown()
    server.server_close()


def test_redis_backend_holds_tenant_keyed_entries(
    admin_dsn: str, role_passwords: dict[str, str], migrated_template: str, redis_server: str
) -> None:
    import redis

    urls = new_database(admin_dsn, role_passwords, template=migrated_template)
    dsns = RoleDsns(owner=urls.owner, app=urls.app, platform=urls.platform)
    with (
        ReferenceStack(dsns=dsns, extra_env={"REFERENCE_APP_REDIS_URL": redis_server}) as stack,
        httpx.Client(base_url=stack.base_url, timeout=10) as http,
    ):
        from reference_app.auth import SigningKey, mint_token

        key = SigningKey.from_pem(stack.key_file.read_bytes())
        platform = {
            "Authorization": "Bearer "
            + mint_token(key, SETTINGS, subject="ops", tenant_id=None, roles=["platform_admin"])
        }
        slug = f"r-{uuid.uuid4().hex[:8]}"
        tenant_id = http.post("/v1/admin/tenants", json={"slug": slug, "name": slug}, headers=platform).json()["id"]
        tenant = Tenant(tenant_id, slug, key)
        note = http.post("/v1/notes", json={"title": "in redis"}, headers=tenant.headers()).json()["id"]
        assert http.get(f"/v1/notes/{note}", headers=tenant.headers()).status_code == 200
        keys = redis.Redis.from_url(redis_server).keys("*")
        assert f"pake:t:{tenant_id}:note:{note}".encode() in keys
        assert all(tenant_id.encode() in k for k in keys)
        http.patch(f"/v1/notes/{note}", json={"title": "edited"}, headers=tenant.headers()).raise_for_status()
        assert redis.Redis.from_url(redis_server).keys("*") == []
        assert http.get(f"/v1/notes/{note}", headers=tenant.headers()).json()["title"] == "edited"
