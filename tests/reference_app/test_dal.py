"""The data access layer refuses unscoped work and never lets a tenant setting outlive its transaction."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from uuid import UUID

import psycopg
import pytest

from reference_app import limits
from reference_app.config import DEFAULT_PLANS
from reference_app.dal import Database, Gate, UnscopedQueryError
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


def test_a_session_level_tenant_cannot_reach_a_unit_of_work(db: DatabaseUrls, tenants: tuple[UUID, UUID]) -> None:
    """There is no pool reset: a stray session-level tenant on a connection is overridden, for the whole
    transaction, by the unit of work's own transaction-local setting."""
    marker = uuid.uuid4().hex

    async def work(database: Database) -> tuple[int, int]:
        async with database.tenant(tenants[1]) as session:
            await note_rows.create(session, title=marker, body="", author="b", tags=[])
        async with database.app_pool.connection() as conn:
            await conn.execute("select set_config('app.tenant_id', %s, false)", (str(tenants[1]),))
        async with database.tenant(tenants[0], single=True) as session:
            single = await note_rows.search(session, marker, 10)
        async with database.tenant(tenants[0]) as session:
            await note_rows.count(session)
            several = await note_rows.search(session, marker, 10)
        return len(single), len(several)

    assert run_with_db(db, work) == (0, 0)


class Refused(Exception):
    """The gate's refusal in these tests."""


def _refuse(row: dict[str, object] | None) -> None:
    raise Refused


async def _single_read(database: Database, tenant: UUID) -> None:
    async with database.tenant(tenant, single=True) as session:
        await note_rows.count(session)


async def _write(database: Database, tenant: UUID) -> None:
    async with database.tenant(tenant) as session:
        await note_rows.create(session, title="w", body="", author="a", tags=["x"])


async def _body_raises(database: Database, tenant: UUID) -> None:
    async with database.tenant(tenant) as session:
        await note_rows.create(session, title="w", body="", author="a", tags=[])
        raise Refused


async def _statement_fails(database: Database, tenant: UUID) -> None:
    async with database.tenant(tenant) as session:
        await session.fetch_one("select 1 / 0 as x where %(tenant_id)s::uuid is not null")


async def _single_statement_fails(database: Database, tenant: UUID) -> None:
    async with database.tenant(tenant, single=True) as session:
        await session.fetch_one("select 1 / 0 as x where %(tenant_id)s::uuid is not null")


async def _gate_refuses_write(database: Database, tenant: UUID) -> None:
    async with database.tenant(tenant, gate=Gate("refused", _refuse)) as session:
        await note_rows.create(session, title="refused", body="", author="a", tags=[])


async def _gate_refuses_read(database: Database, tenant: UUID) -> None:
    async with database.tenant(tenant, single=True, gate=Gate("refused", _refuse)) as session:
        await note_rows.count(session)


async def _single_writes(database: Database, tenant: UUID) -> None:
    async with database.tenant(tenant, single=True) as session:
        await note_rows.create(session, title="read-only", body="", author="a", tags=[])


def _charging_gate(admit: Callable[[dict[str, object] | None], None] = lambda row: None) -> Gate:
    """The API's gate: it writes (the rate-limit charge), and its own statement makes a single read read-only."""
    params = limits.RateLimiter(DEFAULT_PLANS).gate_params(f"dal-test:{uuid.uuid4()}")
    return Gate("someone", admit, limits.GATE_AND_CHARGE, params, writes=True)


async def _charged_single_writes(database: Database, tenant: UUID) -> None:
    async with database.tenant(tenant, single=True, gate=_charging_gate()) as session:
        await note_rows.create(session, title="read-only", body="", author="a", tags=[])


async def _charged_write(database: Database, tenant: UUID) -> None:
    async with database.tenant(tenant, gate=_charging_gate()) as session:
        await note_rows.create(session, title="w", body="", author="a", tags=["x"])


@pytest.mark.parametrize(
    "ending",
    [
        _single_read,
        _write,
        _body_raises,
        _statement_fails,
        _single_statement_fails,
        _gate_refuses_write,
        _gate_refuses_read,
        _single_writes,
        _charged_single_writes,
        _charged_write,
    ],
    ids=lambda f: f.__name__.lstrip("_"),
)
def test_a_returned_connection_is_clean_however_the_unit_of_work_ends(
    db: DatabaseUrls, tenants: tuple[UUID, UUID], ending: Callable[[Database, UUID], Awaitable[None]]
) -> None:
    """Pool of one connection, no pool reset: whatever happened, the next borrower gets an idle
    connection with no tenant, no open transaction and no read-only flag."""

    async def work(database: Database) -> tuple[object, ...]:
        with contextlib.suppress(Refused, psycopg.Error):
            await ending(database, tenants[0])
        async with database.app_pool.connection() as conn:
            status = conn.info.transaction_status
            row = await (
                await conn.execute(
                    "select current_setting('app.tenant_id', true) as tenant, current_setting('transaction_read_only')"
                    " as read_only, (select count(*) from notes) as visible"
                )
            ).fetchone()
        assert row is not None
        return status, row["tenant"] or "", row["read_only"], row["visible"]

    assert run_with_db(db, work) == (psycopg.pq.TransactionStatus.IDLE, "", "off", 0)


def test_refused_and_read_only_units_of_work_write_nothing(db: DatabaseUrls, tenants: tuple[UUID, UUID]) -> None:
    async def work(database: Database) -> int:
        for ending in (_gate_refuses_write, _single_writes, _charged_single_writes, _body_raises):
            with pytest.raises((Refused, psycopg.errors.ReadOnlySqlTransaction)):
                await ending(database, tenants[1])
        async with database.tenant(tenants[1]) as session:
            row = await session.fetch_one(
                "select count(*) as n from notes"
                " where tenant_id = %(tenant_id)s and title in ('refused', 'read-only', 'w')"
            )
        assert row is not None
        return int(row["n"])

    assert run_with_db(db, work) == 0


def test_a_charging_gate_makes_a_single_read_read_only_whatever_it_finds(
    db: DatabaseUrls, tenants: tuple[UUID, UUID]
) -> None:
    """The charge is written (the flag is checked as a statement starts), the read after it may not write,
    also when the gate finds no tenant (it then reads a row of nulls, which the API refuses); a write's own
    transaction is not read-only. A read that fails takes its charge with it (one implicit transaction)."""
    unknown = uuid.uuid4()
    seen: list[dict[str, object] | None] = []

    async def buckets(database: Database) -> int:
        async with database.platform("test: count the buckets the gates charged") as platform:
            row = await platform.fetch_one("select count(*) as n from rate_buckets where key like 'dal-test:%%'")
        assert row is not None
        return int(row["n"])

    async def work(database: Database) -> int:
        before = await buckets(database)
        for tenant in (tenants[0], unknown):
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                await _charged_single_writes(database, tenant)
        for tenant in (unknown, tenants[0]):
            async with database.tenant(tenant, single=True, gate=_charging_gate(seen.append)) as session:
                await note_rows.count(session)
        await _charged_write(database, tenants[0])
        return await buckets(database) - before

    # The known tenant's read and write; never the unknown tenant; a failed read rolls its charge back.
    assert run_with_db(db, work) == 2
    assert [(row or {}).get("status", "no row") for row in seen] == [None, "active"]


def test_a_gate_that_writes_must_make_a_single_read_read_only() -> None:
    with pytest.raises(ValueError, match="READ_ONLY"):
        Gate("someone", lambda row: None, "with c as (insert into rate_buckets default values) select 1", writes=True)


def test_a_single_unit_of_work_runs_one_statement(db: DatabaseUrls, tenants: tuple[UUID, UUID]) -> None:
    async def work(database: Database) -> None:
        async with database.tenant(tenants[0], single=True) as session:
            await note_rows.count(session)
            await note_rows.count(session)

    with pytest.raises(RuntimeError, match="second statement"):
        run_with_db(db, work)


def _round_trips(trace: str) -> int:
    """Round trips in a libpq trace: each time the server answers ("B") after the client sent ("F")."""
    directions = [line[:1] for line in trace.splitlines() if line[:1] in ("F", "B")]
    return sum(1 for sent, answered in itertools.pairwise(directions) if (sent, answered) == ("F", "B"))


@pytest.mark.parametrize(
    ("single", "admit", "expected"),
    [(True, True, 1), (False, True, 2), (True, False, 1)],
    ids=["single-read-gated", "write-gated", "single-read"],
)
def test_round_trips_of_a_unit_of_work(
    db: DatabaseUrls, tenants: tuple[UUID, UUID], tmp_path: Path, single: bool, admit: bool, expected: int
) -> None:
    """The tenant setting, the gate and the first statement share a message; a single read ends with it,
    a unit of work that writes needs one more for its COMMIT (sent after the gate was checked)."""
    trace_file = tmp_path / "libpq.trace"
    traced: list[int] = []

    async def traced_work(database: Database) -> None:
        conn = await database.app_pool.getconn()
        with trace_file.open("w") as out:
            conn.pgconn.trace(out.fileno())
            conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
            await database.app_pool.putconn(conn)
            gate = Gate("someone", lambda row: None) if admit else None
            if single:
                async with database.tenant(tenants[0], single=True, gate=gate) as session:
                    await note_rows.count(session)
            else:
                async with database.tenant(tenants[0], gate=gate) as session:
                    await note_rows.exists(session, uuid.uuid4())
            conn.pgconn.untrace()
        traced.append(_round_trips(trace_file.read_text()))

    run_with_db(db, traced_work)
    assert traced == [expected]


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
