"""The data access layer refuses unscoped work and never lets a tenant setting outlive its transaction."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

import psycopg
import pytest

from reference_app.dal import Database, UnscopedQueryError
from reference_app.dal import notes as note_rows
from reference_app.database import DatabaseUrls
from tests.conftest import one

T = TypeVar("T")


@pytest.fixture(scope="module")
def tenants(db: DatabaseUrls) -> tuple[UUID, UUID]:
    with psycopg.connect(db.platform) as conn:
        a, b = (
            one(conn, "insert into tenants (slug, name) values (%s, %s) returning id", (slug, slug))[0]
            for slug in ("dal-a", "dal-b")
        )
        return a, b


def run_with_db(db: DatabaseUrls, work: Callable[[Database], Awaitable[T]]) -> T:
    """``work`` on a fresh one-connection Database, in its own event loop."""

    async def main() -> T:
        database = Database(db.app, db.platform, max_size=1)
        await database.open()
        try:
            return await work(database)
        finally:
            await database.close()

    return asyncio.run(main())


def test_query_without_tenant_filter_raises(db: DatabaseUrls, tenants: tuple[UUID, UUID]) -> None:
    async def work(database: Database) -> None:
        async with database.tenant(tenants[0]) as session:
            await session.fetch_all("select * from notes")

    with pytest.raises(UnscopedQueryError):
        run_with_db(db, work)


def test_tenant_unit_of_work_without_tenant_raises(db: DatabaseUrls) -> None:
    async def work(database: Database) -> None:
        async with database.tenant(None):
            pass

    with pytest.raises(UnscopedQueryError):
        run_with_db(db, work)


def test_binding_another_tenant_id_raises(db: DatabaseUrls, tenants: tuple[UUID, UUID]) -> None:
    async def work(database: Database) -> None:
        async with database.tenant(tenants[0]) as session:
            await session.fetch_all("select * from notes where tenant_id = %(tenant_id)s", {"tenant_id": tenants[1]})

    with pytest.raises(UnscopedQueryError):
        run_with_db(db, work)


def test_platform_unit_of_work_must_say_why(db: DatabaseUrls) -> None:
    async def work(database: Database) -> None:
        async with database.platform("  "):
            pass

    with pytest.raises(ValueError, match="must say why"):
        run_with_db(db, work)


def test_tenant_setting_does_not_outlive_its_transaction(db: DatabaseUrls, tenants: tuple[UUID, UUID]) -> None:
    """Pool of one connection: after A's unit of work, the same connection carries no tenant."""

    async def work(database: Database) -> tuple[str | None, int]:
        async with database.tenant(tenants[0]) as session:
            await note_rows.create(session, title="a's note", body="", author="a", tags=[])
        async with database.app_pool.connection() as conn:
            setting = await (await conn.execute("select current_setting('app.tenant_id', true) as s")).fetchone()
            visible = await (await conn.execute("select count(*) as n from notes")).fetchone()
        assert setting is not None
        assert visible is not None
        return setting["s"], visible["n"]

    setting, visible = run_with_db(db, work)
    assert setting in (None, "")
    assert visible == 0


def test_pool_reset_clears_a_session_level_setting(db: DatabaseUrls, tenants: tuple[UUID, UUID]) -> None:
    """The second safeguard: even a session-level SET is cleared when the connection returns to the pool."""

    async def work(database: Database) -> int:
        async with database.app_pool.connection() as conn:
            await conn.execute("select set_config('app.tenant_id', %s, false)", (str(tenants[0]),))
        async with database.app_pool.connection() as conn:
            row = await (await conn.execute("select count(*) as n from notes")).fetchone()
        assert row is not None
        return int(row["n"])

    assert run_with_db(db, work) == 0


def test_tenant_reads_only_its_own_notes(db: DatabaseUrls, tenants: tuple[UUID, UUID]) -> None:
    marker = uuid.uuid4().hex

    async def work(database: Database) -> tuple[int, int]:
        async with database.tenant(tenants[1]) as session:
            await note_rows.create(session, title=marker, body="", author="b", tags=[])
        async with database.tenant(tenants[0]) as session:
            seen_by_a = await note_rows.search(session, marker, 10)
        async with database.tenant(tenants[1]) as session:
            seen_by_b = await note_rows.search(session, marker, 10)
        return len(seen_by_a), len(seen_by_b)

    assert run_with_db(db, work) == (0, 1)
