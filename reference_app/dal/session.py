"""Units of work: the only way the app talks to PostgreSQL.

A *tenant* unit of work is one transaction that first sets ``app.tenant_id`` for that
transaction only (``set_config(..., true)``), so row-level security scopes every statement,
and every query must also name ``%(tenant_id)s`` itself (defence in depth): a query without
it raises :class:`UnscopedQueryError` before reaching the server.

The *platform* unit of work is the one named escape hatch, for provisioning and aggregates:
it runs as the platform role and must state why.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import psycopg
from psycopg import AsyncConnection, AsyncPipeline
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from reference_app import faults

Row = dict[str, Any]
Params = Mapping[str, Any]

_TENANT_PLACEHOLDER = re.compile(r"%\(tenant_id\)s")


# How long the pool keeps retrying one lost connection (backing off from 1 s) before it gives up and
# lets the next request start a fresh attempt at once: it bounds how long the app stays unavailable
# once PostgreSQL is back (psycopg_pool's default, 5 minutes, would double the wait up to 2 minutes).
RECONNECT_WINDOW_SECONDS = 2.0


class UnscopedQueryError(RuntimeError):
    """A tenant query did not filter by ``%(tenant_id)s``, or no tenant was given."""


class TenantBusyError(RuntimeError):
    """The tenant's own line for connections is full, or it held its share of the pool for the whole
    wait: it is the one to slow down (the API answers 429), not the other tenants."""


class _TenantSlots:
    """At most ``per_tenant`` pool connections for one tenant at a time, and as many more units of
    work waiting in the tenant's own line instead of the pool's line that every tenant shares.
    Beyond that, or after the wait, the tenant is refused: :class:`TenantBusyError`."""

    def __init__(self, per_tenant: int) -> None:
        self.per_tenant = per_tenant
        self._slots: dict[UUID, tuple[asyncio.Semaphore, list[int]]] = {}

    @asynccontextmanager
    async def hold(self, tenant_id: UUID, timeout: float) -> AsyncIterator[None]:
        semaphore, users = self._slots.setdefault(tenant_id, (asyncio.Semaphore(self.per_tenant), [0]))
        if users[0] >= 2 * self.per_tenant:
            raise TenantBusyError(f"tenant has {users[0]} units of work holding or waiting for a connection")
        users[0] += 1
        try:
            try:
                async with asyncio.timeout(timeout):
                    await semaphore.acquire()
            except TimeoutError:
                raise TenantBusyError(f"tenant held {self.per_tenant} connections for {timeout:.1f} s") from None
            try:
                yield
            finally:
                semaphore.release()
        finally:
            users[0] -= 1
            if not users[0]:  # forget idle tenants: the map grows with concurrent tenants, not with all of them
                del self._slots[tenant_id]


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
    # A 2xx promises the write survives a crash of the server, whatever its default: a server run with
    # synchronous_commit=off (the embedded test server is) loses the last commits on an immediate shutdown.
    await conn.execute("set synchronous_commit to on")


class _IdleCheck:
    """The pool's check of a connection at checkout, without a round trip: read what the server sent
    while it sat idle. A server that crashed or restarted has closed it (an error message, then end
    of file: two reads see both); then every idle connection is as dead, so the pool is drained and
    the request gets a new connection instead of failing on the old one."""

    def __init__(self) -> None:
        self.pool: AsyncConnectionPool[AsyncConnection[DictRow]] | None = None

    async def __call__(self, conn: AsyncConnection[DictRow]) -> None:
        try:
            conn.pgconn.consume_input()
            conn.pgconn.consume_input()
        except psycopg.OperationalError:
            if self.pool is not None:
                await self.pool.drain()
            raise


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
    """The app's two connection pools and the units of work over them.

    A unit of work waits at most ``acquire_timeout`` seconds for a connection, then raises
    (:class:`TenantBusyError` when its own tenant held its ``per_tenant`` share all along,
    ``psycopg_pool.PoolTimeout`` otherwise) rather than queue without end while PostgreSQL is
    down or the pool is exhausted. ``per_tenant`` (default: half the pool) keeps one tenant from
    taking every connection; see :class:`_TenantSlots`.
    """

    def __init__(
        self,
        app_dsn: str,
        platform_dsn: str,
        *,
        max_size: int = 20,
        acquire_timeout: float = 5.0,
        per_tenant: int | None = None,
    ) -> None:
        self.acquire_timeout = acquire_timeout
        self._tenant_slots = _TenantSlots(per_tenant or max(1, max_size // 2))
        app_check, platform_check = _IdleCheck(), _IdleCheck()
        self.app_pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
            app_dsn,
            min_size=min(2, max_size),
            max_size=max_size,
            open=False,
            timeout=acquire_timeout,
            reconnect_timeout=RECONNECT_WINDOW_SECONDS,
            configure=_configure,
            check=app_check,
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
            timeout=acquire_timeout,
            reconnect_timeout=RECONNECT_WINDOW_SECONDS,
            configure=_configure,
            check=platform_check,
            kwargs={"row_factory": dict_row},
            name="platform",
        )
        app_check.pool, platform_check.pool = self.app_pool, self.platform_pool

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
        started = time.monotonic()
        async with self._tenant_slots.hold(tenant_id, self.acquire_timeout):
            # One deadline for both waits: the tenant's own line, then the pool's.
            left = max(0.001, self.acquire_timeout - (time.monotonic() - started))
            # Pipeline mode batches the tenant setting with the first query; psycopg still syncs around
            # BEGIN and COMMIT (benchmarks/README.md traces a request: seven round trips in all).
            async with (
                self.app_pool.connection(timeout=left) as conn,
                conn.pipeline() as pipeline,
                conn.transaction(),
            ):
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
