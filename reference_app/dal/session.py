"""Units of work: the only way the app talks to PostgreSQL.

A *tenant* unit of work is one transaction that first sets ``app.tenant_id`` for that
transaction only (``set_config(..., true)``), so row-level security scopes every statement,
and every query must also name ``%(tenant_id)s`` itself (defence in depth): a query without
it raises :class:`UnscopedQueryError` before reaching the server.

The *platform* unit of work is the one named escape hatch, for provisioning and aggregates:
it runs as the platform role and must state why.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, AsyncPipeline
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from reference_app import faults

Row = dict[str, Any]
Params = Mapping[str, Any]

_TENANT_PLACEHOLDER = re.compile(r"%\(tenant_id\)s")


class UnscopedQueryError(RuntimeError):
    """A tenant query did not filter by ``%(tenant_id)s``, or no tenant was given."""


class TenantSession:
    """Runs statements inside one tenant's transaction; ``tenant_id`` is bound to every query."""

    def __init__(self, conn: AsyncConnection[DictRow], pipeline: AsyncPipeline, tenant_id: UUID) -> None:
        self._conn = conn
        self._pipeline = pipeline
        self.tenant_id = tenant_id

    def _bind(self, query: str, params: Params | None) -> dict[str, Any]:
        if not _TENANT_PLACEHOLDER.search(query):
            raise UnscopedQueryError(f"tenant query without %(tenant_id)s filter: {query.split()[:6]}")
        bound = dict(params or {})
        if bound.setdefault("tenant_id", self.tenant_id) != self.tenant_id:
            raise UnscopedQueryError("a tenant query may not bind another tenant_id")
        return bound

    async def fetch_one(self, query: str, params: Params | None = None) -> Row | None:
        cursor = await self._conn.execute(query, self._bind(query, params))
        return await cursor.fetchone()

    async def fetch_all(self, query: str, params: Params | None = None) -> list[Row]:
        cursor = await self._conn.execute(query, self._bind(query, params))
        return await cursor.fetchall()

    async def execute(self, query: str, params: Params | None = None) -> int:
        cursor = await self._conn.execute(query, self._bind(query, params))
        await self._pipeline.sync()  # the row count is known only once the server answered
        return cursor.rowcount

    async def execute_many(self, query: str, params: list[Params]) -> None:
        """One statement for many rows, pipelined: the bulk path of imports."""
        if not params:
            return
        bound = [self._bind(query, row) for row in params]
        async with self._conn.cursor() as cursor:
            await cursor.executemany(query, bound)


class PlatformSession:
    """Runs statements as the platform role (bypasses row-level security): provisioning, aggregates."""

    def __init__(self, conn: AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def fetch_one(self, query: str, params: Params | None = None) -> Row | None:
        cursor = await self._conn.execute(query, params)
        return await cursor.fetchone()

    async def fetch_all(self, query: str, params: Params | None = None) -> list[Row]:
        cursor = await self._conn.execute(query, params)
        return await cursor.fetchall()

    async def execute(self, query: str, params: Params | None = None) -> int:
        cursor = await self._conn.execute(query, params)
        return cursor.rowcount


async def _configure(conn: AsyncConnection[Any]) -> None:
    await conn.set_autocommit(True)


async def clear_tenant_context(conn: AsyncConnection[Any]) -> None:
    """Pool ``reset`` callback: a second safeguard should a session-level tenant ever be set."""
    await conn.execute("select set_config('app.tenant_id', '', false)")


async def _connection_bound_tenant(conn: AsyncConnection[DictRow], tenant_id: UUID) -> UUID:
    """Fault ``session_set_bleed``: the tenant lives on the connection, at session scope.

    A tenant already on the connection is kept "so a nested unit of work cannot clobber the
    outer one's tenant", and queries are bound to the connection's tenant. Without the pool
    reset, whatever tenant used the connection last is still there for the next borrower.
    """
    cursor = await conn.execute(
        "select set_config('app.tenant_id', coalesce(nullif(current_setting('app.tenant_id', true), ''), %s), false)"
        " as tenant",
        (str(tenant_id),),
    )
    row = await cursor.fetchone()
    assert row is not None
    return UUID(row["tenant"])


class Database:
    """The app's two connection pools and the units of work over them."""

    def __init__(self, app_dsn: str, platform_dsn: str, *, max_size: int = 20) -> None:
        self.app_pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
            app_dsn,
            min_size=min(2, max_size),
            max_size=max_size,
            open=False,
            configure=_configure,
            # Fault session_set_bleed: the reset was dropped as "a round trip per checkout for nothing".
            reset=None if faults.session_set_bleed.active else clear_tenant_context,
            kwargs={"row_factory": dict_row},
            name="app",
        )
        self.platform_pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
            platform_dsn,
            min_size=1,
            max_size=4,
            open=False,
            configure=_configure,
            kwargs={"row_factory": dict_row},
            name="platform",
        )

    async def open(self) -> None:
        await self.app_pool.open(wait=True)
        await self.platform_pool.open(wait=True)

    async def close(self) -> None:
        await self.app_pool.close()
        await self.platform_pool.close()

    @asynccontextmanager
    async def tenant(self, tenant_id: UUID | None, *, snapshot: bool = False) -> AsyncIterator[TenantSession]:
        """One transaction scoped to ``tenant_id``; commits on success, rolls back on error.

        ``snapshot=True`` runs it at REPEATABLE READ, so a read of many tables (an export) sees
        one snapshot; at the default READ COMMITTED each statement sees the writes committed before it.
        """
        if not isinstance(tenant_id, UUID):
            raise UnscopedQueryError("a tenant unit of work needs a tenant id")
        # Pipeline mode batches the tenant setting with the first query; psycopg still syncs around
        # BEGIN and COMMIT (benchmarks/README.md traces a request: seven round trips in all).
        async with self.app_pool.connection() as conn, conn.pipeline() as pipeline, conn.transaction():
            if snapshot:  # must come before the transaction's first query
                await conn.execute("set transaction isolation level repeatable read")
            if faults.session_set_bleed.active:
                tenant_id = await _connection_bound_tenant(conn, tenant_id)
            else:
                # is_local=true: the setting dies with the transaction, never with the connection.
                await conn.execute("select set_config('app.tenant_id', %s, true)", (str(tenant_id),))
            yield TenantSession(conn, pipeline, tenant_id)

    @asynccontextmanager
    async def platform(self, reason: str) -> AsyncIterator[PlatformSession]:
        """The escape hatch: a platform-role transaction. ``reason`` documents why at the call site."""
        if not reason.strip():
            raise ValueError("a platform unit of work must say why it bypasses tenant isolation")
        async with self.platform_pool.connection() as conn, conn.transaction():
            yield PlatformSession(conn)
