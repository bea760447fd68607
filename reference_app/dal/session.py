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
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from psycopg import AsyncConnection, AsyncCursor, AsyncPipeline
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

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
            if semaphore.locked():  # a wait in the tenant's line: bounded
                try:
                    async with asyncio.timeout(timeout):
                        await semaphore.acquire()
                except TimeoutError:
                    raise TenantBusyError(f"tenant held {self.per_tenant} connections for {timeout:.1f} s") from None
            else:  # a free slot, taken without waiting: no timer to arm and cancel (the common case)
                await semaphore.acquire()
            try:
                yield
            finally:
                semaphore.release()
        finally:
            users[0] -= 1
            if not users[0]:  # forget idle tenants: the map grows with concurrent tenants, not with all of them
                del self._slots[tenant_id]


# The API's gate, read with the first statement of every request: the tenant's own row (status, plan;
# row-level security shows the app role no other), the caller's membership role and whether the
# caller's membership was removed, so a demoted or removed member loses rights on the next request.
TENANT_GATE = """
    select t.status, t.plan, u.role as member_role,
           exists (select 1 from removed_members r where r.tenant_id = t.id and r.subject = %(subject)s) as removed
    from tenants t left join users u on u.tenant_id = t.id and u.subject = %(subject)s
    where t.id = %(tenant_id)s
"""
# Transaction-local (is_local = true): the setting dies with the transaction, never with the connection.
_SET_TENANT = "select set_config('app.tenant_id', %(tenant_id)s, true)"
# A single-statement read is also made read-only: it commits before its gate is read. With the tenant
# setting, or, when the gate writes (the rate-limit charge of reference_app/limits.py), by the gate's own
# statement, in its select list: PostgreSQL checks the flag as a statement starts, so the gate's writes
# pass and every later statement of the transaction is refused a write.
READ_ONLY = "set_config('transaction_read_only', 'on', true)"
_SET_TENANT_READ_ONLY = f"select set_config('app.tenant_id', %(tenant_id)s, true), {READ_ONLY}"

Admit = Callable[[Row | None], None]


@dataclass(frozen=True)
class Gate:
    """What a tenant unit of work checks with its first round trip: ``statement`` (:data:`TENANT_GATE`
    or a statement built on it) for ``subject`` and ``params``, whose row goes to ``admit``; raising
    there refuses the unit of work.

    A statement that ``writes`` must select :data:`READ_ONLY` too: a single read's transaction is made
    read-only by it, which saves the read a statement of its own.
    """

    subject: str
    admit: Admit
    statement: str = TENANT_GATE
    params: Params = field(default_factory=dict)
    writes: bool = False

    def __post_init__(self) -> None:
        if self.writes and READ_ONLY not in self.statement:
            raise ValueError("a gate that writes must select READ_ONLY: a single read would not be read-only")


class TenantSession:
    """Runs statements inside one tenant's transaction; ``tenant_id`` is bound to every query.

    Statements are pipelined: the tenant setting, the gate (when the caller asked for one) and
    the first query travel in one message, and the gate's answer is checked before any result
    is handed out. A ``single`` unit of work runs at most one statement and ends with it: the
    implicit transaction of one Sync, so the whole unit of work is one round trip.
    """

    def __init__(self, conn: AsyncConnection[DictRow], tenant_id: UUID, *, single: bool) -> None:
        self._conn = conn
        self.tenant_id = tenant_id
        self._single = single
        self._spent = False
        self._pipeline: AsyncPipeline | None = None
        self._pipeline_cm: AbstractAsyncContextManager[AsyncPipeline] | None = None
        self._gate: tuple[AsyncCursor[DictRow], Gate] | None = None

    def _bind(self, query: str, params: Params | None) -> dict[str, Any]:
        if not _TENANT_PLACEHOLDER.search(query):
            raise UnscopedQueryError(f"tenant query without %(tenant_id)s filter: {query.split()[:6]}")
        bound = dict(params or {})
        if bound.setdefault("tenant_id", self.tenant_id) != self.tenant_id:
            raise UnscopedQueryError("a tenant query may not bind another tenant_id")
        return bound

    async def _begin(self, *, snapshot: bool, gate: Gate | None) -> None:
        """Queue the transaction's opening statements; nothing is sent until the first result is needed.

        A unit of work of several statements sends its gate first, in an implicit transaction of its
        own that a Sync in the same message ends: a gate that writes (the rate-limit charge) commits
        at once, so it holds no row lock until the unit of work's COMMIT and survives its rollback.
        """
        self._pipeline_cm = self._conn.pipeline()
        self._pipeline = await self._pipeline_cm.__aenter__()
        if self._single and snapshot:
            raise ValueError("a snapshot needs an explicit transaction: not with single=True")
        if not self._single:
            if gate is not None:
                await self._set_tenant(read_only=False)
                await self._queue_gate(gate)
                # Private psycopg API (3.2-3.3; pyproject.toml caps psycopg below 3.4 for it): queue a Sync
                # without waiting. The public ways to send a Sync, Pipeline.sync() and leaving a nested
                # pipeline, both wait for its answer: one more round trip per write
                # (test_round_trips_of_a_unit_of_work counts them and fails if this breaks).
                self._pipeline._enqueue_sync()
            await self._conn.execute("begin isolation level repeatable read" if snapshot else "begin")
            await self._set_tenant(read_only=False)
            return
        await self._set_tenant(read_only=gate is None or not gate.writes)
        if gate is not None:
            await self._queue_gate(gate)

    async def _queue_gate(self, gate: Gate) -> None:
        params = {**gate.params, "tenant_id": self.tenant_id, "subject": gate.subject}
        self._gate = (await self._conn.execute(gate.statement, params), gate)

    async def _set_tenant(self, *, read_only: bool) -> None:
        """Queue the transaction-local tenant setting: it ends with the transaction, so a pooled connection
        never carries one tenant's context into the next unit of work."""
        statement = _SET_TENANT_READ_ONLY if read_only else _SET_TENANT
        await self._conn.execute(statement, {"tenant_id": str(self.tenant_id)})

    async def _admit(self) -> None:
        """Check the gate's answer (it arrives with the first round trip) before any result is used."""
        if self._gate is not None:
            cursor, gate = self._gate
            self._gate = None
            gate.admit(await cursor.fetchone())

    async def _end_pipeline(self, exc: BaseException | None = None) -> None:
        """Send the Sync and collect every result: the round trip that ends a single unit of work."""
        if self._pipeline_cm is not None:
            cm, self._pipeline_cm, self._pipeline = self._pipeline_cm, None, None
            await cm.__aexit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)

    async def _run(self, query: str, params: Params | None) -> AsyncCursor[DictRow]:
        bound = self._bind(query, params)
        if self._single:
            if self._spent:
                raise RuntimeError("a single-statement unit of work ran a second statement; drop single=True")
            self._spent = True
            cursor = await self._conn.execute(query, bound)
            await self._end_pipeline()
        else:
            cursor = await self._conn.execute(query, bound)
        await self._admit()
        return cursor

    async def _finish(self) -> None:
        """Success: check a gate no statement has read yet, then commit (one message with the Sync)."""
        if self._single:
            await self._end_pipeline()
            await self._admit()
            return
        await self._admit()
        await self._conn.execute("commit")
        await self._end_pipeline()

    async def _abandon(self, exc: BaseException) -> None:
        """Failure: end the pipeline (its own errors give way to ``exc``) and roll back what is open."""
        with suppress(psycopg.Error):
            await self._end_pipeline(exc)
        if self._conn.closed or self._conn.info.transaction_status == TransactionStatus.IDLE:
            return
        with suppress(psycopg.Error):  # a broken connection: the pool discards it
            await self._conn.execute("rollback")

    async def fetch_one(self, query: str, params: Params | None = None) -> Row | None:
        cursor = await self._run(query, params)
        return await cursor.fetchone()

    async def fetch_all(self, query: str, params: Params | None = None) -> list[Row]:
        cursor = await self._run(query, params)
        return await cursor.fetchall()

    async def execute(self, query: str, params: Params | None = None) -> int:
        cursor = await self._run(query, params)
        if cursor.pgresult is None and self._pipeline is not None:
            await self._pipeline.sync()  # the row count is known only once the server answered
        return cursor.rowcount

    async def execute_many(self, query: str, params: list[Params]) -> None:
        """One statement for many rows, pipelined: the bulk path of imports."""
        if not params:
            return
        if self._single:
            raise RuntimeError("execute_many runs many statements; drop single=True")
        bound = [self._bind(query, row) for row in params]
        await self._admit()
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


def _pool(
    dsn: str, name: str, min_size: int, max_size: int, timeout: float
) -> AsyncConnectionPool[AsyncConnection[DictRow]]:
    """A pool (not yet open) whose connections are configured on connect and checked for a dead server at checkout."""
    check = _IdleCheck()
    pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        open=False,
        timeout=timeout,
        reconnect_timeout=RECONNECT_WINDOW_SECONDS,
        configure=_configure,
        check=check,
        kwargs={"row_factory": dict_row},
        name=name,
    )
    check.pool = pool
    return pool


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
        self.app_pool = _pool(app_dsn, "app", min(2, max_size), max_size, acquire_timeout)
        self.platform_pool = _pool(platform_dsn, "platform", 1, 4, acquire_timeout)

    async def open(self) -> None:
        await self.app_pool.open(wait=True)
        await self.platform_pool.open(wait=True)

    async def close(self) -> None:
        await self.app_pool.close()
        await self.platform_pool.close()

    @asynccontextmanager
    async def tenant(
        self, tenant_id: UUID | None, *, snapshot: bool = False, single: bool = False, gate: Gate | None = None
    ) -> AsyncIterator[TenantSession]:
        """One transaction scoped to ``tenant_id``; commits on success, rolls back on error.

        ``snapshot=True`` runs it at REPEATABLE READ, so a read of many tables (an export) sees
        one snapshot; at the default READ COMMITTED each statement sees the writes committed before it.
        ``single=True``: one read-only statement at most, and the whole unit of work is one round trip.
        ``gate``'s row (:data:`TENANT_GATE`) arrives with the first round trip and is checked before
        any statement's result is handed out; a refusal rolls back a write (a single unit of work
        is read-only, as its gate is read after its Sync).
        """
        if not isinstance(tenant_id, UUID):
            raise UnscopedQueryError("a tenant unit of work needs a tenant id")
        started = time.monotonic()
        async with self._tenant_slots.hold(tenant_id, self.acquire_timeout):
            # One deadline for both waits: the tenant's own line, then the pool's.
            left = max(0.001, self.acquire_timeout - (time.monotonic() - started))
            # No pool reset: the tenant setting is transaction-local, so a returned connection carries
            # none (tests/reference_app/test_dal.py checks it after commits, rollbacks and failed statements).
            async with self.app_pool.connection(timeout=left) as conn:
                session = TenantSession(conn, tenant_id, single=single)
                try:
                    await session._begin(snapshot=snapshot, gate=gate)
                    yield session
                    await session._finish()
                except BaseException as exc:
                    await session._abandon(exc)
                    raise

    @asynccontextmanager
    async def platform(self, reason: str) -> AsyncIterator[PlatformSession]:
        """The escape hatch: a platform-role transaction. ``reason`` documents why at the call site."""
        if not reason.strip():
            raise ValueError("a platform unit of work must say why it bypasses tenant isolation")
        async with self.platform_pool.connection() as conn, conn.transaction():
            yield PlatformSession(conn)
