"""Finding and auditing the application's database role from outside, on a real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from tenantprobe import appdb
from tenantprobe.sqlseed import ensure_row
from tests.conftest import one

PASSWORD = "app-password"


@dataclass(frozen=True)
class Roles:
    app: str  # the role the application connects as: plain, but a member of admin
    admin: str  # BYPASSRLS, reachable from app by SET ROLE
    clean: str  # what the app role should be
    owner: str  # owns the tenant table
    database: str


def _as(dsn: str, user: str, database: str) -> str:
    parts = urlsplit(dsn)
    netloc = f"{user}:{PASSWORD}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", "", ""))


@pytest.fixture(scope="module")
def roles(admin_dsn: str) -> Iterator[Roles]:
    suffix = uuid.uuid4().hex[:8]
    made = Roles(f"app_{suffix}", f"admin_{suffix}", f"clean_{suffix}", f"owner_{suffix}", f"appdb_{suffix}")
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        for role, attributes in (
            (made.app, "LOGIN NOBYPASSRLS"),
            (made.admin, "NOLOGIN BYPASSRLS"),
            (made.clean, "LOGIN NOBYPASSRLS"),
            (made.owner, "NOLOGIN"),
        ):
            conn.execute(
                sql.SQL("create role {} {} password {}").format(
                    sql.Identifier(role), sql.SQL(attributes), sql.Literal(PASSWORD)
                )
            )
        conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(made.admin), sql.Identifier(made.app)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(made.database)))
    with psycopg.connect(_database(admin_dsn, made.database), autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                """
                create table parent (tenant_id uuid not null, id uuid not null default gen_random_uuid(),
                                     primary key (tenant_id, id));
                create table child (tenant_id uuid not null, id bigint generated always as identity,
                                    parent_id uuid not null, kind text not null check (kind in ('export', 'import')),
                                    size integer not null, primary key (tenant_id, id),
                                    foreign key (tenant_id, parent_id) references parent (tenant_id, id));
                alter table parent owner to {owner}; alter table child owner to {owner};
                grant select, insert, update, delete on parent, child to {app}, {clean};
                """
            ).format(owner=sql.Identifier(made.owner), app=sql.Identifier(made.app), clean=sql.Identifier(made.clean))
        )
        for table in ("parent", "child"):
            conn.execute(f"alter table {table} enable row level security; alter table {table} force row level security")
            conn.execute(
                f"create policy tenant on {table} using (tenant_id = nullif(current_setting('app.tenant_id', true), "
                "'')::uuid) with check (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)"
            )
    yield made
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(made.database)))
        for role in (made.app, made.admin, made.clean, made.owner):
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def _database(admin_dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(admin_dsn)._replace(path=f"/{database}"))


def _watched(admin_dsn: str, roles: Roles, harness_dsn: str) -> appdb.Watcher:
    """The harness (connected as ``harness_dsn``) watching four requests of the app, one statement each."""
    with (
        psycopg.connect(_as(admin_dsn, roles.app, roles.database), autocommit=True) as app,
        appdb.connect(harness_dsn) as harness,
    ):
        watcher = appdb.Watcher(harness)
        for number in range(4):
            watcher.watch(f"tenant-{number % 2}", lambda: app.execute("select 1"))
    return watcher


def test_app_that_can_set_role_into_a_bypassrls_role_fails_the_audit(admin_dsn: str, roles: Roles) -> None:
    watcher = _watched(admin_dsn, roles, _database(admin_dsn, roles.database))
    found = appdb.decide_app_roles(None, watcher)
    with appdb.connect(_database(admin_dsn, roles.database)) as harness:
        findings = appdb.privilege_findings(harness, roles.app, ["public.parent", "public.child"])
        (bypass,) = one(harness, "select rolbypassrls from pg_roles where rolname = %s", (roles.app,))
    assert (found.roles, found.source) == ((roles.app,), "observed")
    assert not bypass, "the role itself is plain: only its membership lets it bypass RLS"
    assert f"the application role {roles.app} can SET ROLE {roles.admin}, which is BYPASSRLS" in findings


def test_app_role_without_bypass_owner_or_membership_passes_the_audit(admin_dsn: str, roles: Roles) -> None:
    with appdb.connect(_database(admin_dsn, roles.database)) as harness:
        assert appdb.privilege_findings(harness, roles.clean, ["public.parent", "public.child"]) == []
        owner_findings = appdb.privilege_findings(harness, roles.owner, ["public.parent"])
    assert any("owns public.parent" in finding for finding in owner_findings)


def test_sessions_hidden_from_the_harness_are_the_only_candidates_when_nothing_visible_moved(
    admin_dsn: str, roles: Roles
) -> None:
    watcher = _watched(admin_dsn, roles, _as(admin_dsn, roles.clean, roles.database))
    found = appdb.decide_app_roles(None, watcher)
    assert (found.roles, found.source) == ((roles.app,), "inferred")
    assert appdb.decide_app_roles("named", watcher).source == "database.app_role"


def test_one_session_serving_two_tenants_in_turn_is_seen_as_reuse(admin_dsn: str, roles: Roles) -> None:
    watcher = _watched(admin_dsn, roles, _database(admin_dsn, roles.database))
    reused = appdb.cross_tenant_reuse(watcher.windows, [roles.app])
    assert [(label_from, label_to) for _, label_from, label_to in reused] == [
        ("tenant-0", "tenant-1"),
        ("tenant-1", "tenant-0"),
        ("tenant-0", "tenant-1"),
    ]


@pytest.mark.parametrize(
    ("query", "session_scope"),
    [
        ("select set_config('app.tenant_id', $1, false)", True),
        (
            "SELECT set_config('app.tenant_id', coalesce(nullif(current_setting('app.tenant_id', true), ''), $1), "
            "false)",
            True,
        ),
        ("select set_config('app.tenant_id', $1, true)", False),
        ("select set_config('app.tenant_id', '', false)", False),
        ("SET app.tenant_id = '0b4c'", True),
        ("set session app.tenant_id to '0b4c'", True),
        ("SET LOCAL app.tenant_id = '0b4c'", False),
        ("SET app.tenant_id TO DEFAULT", False),
        ("RESET app.tenant_id", False),
        ("COMMIT", False),
    ],
)
def test_session_scope_tenant_statements_are_told_from_local_ones(query: str, session_scope: bool) -> None:
    assert appdb.sets_tenant_for_session(query, "app.tenant_id") is session_scope


def test_a_tenant_without_rows_gets_one_with_its_parent_inside_the_transaction(admin_dsn: str, roles: Roles) -> None:
    tenant = str(uuid.uuid4())
    with psycopg.connect(_as(admin_dsn, roles.clean, roles.database)) as conn:
        with conn.transaction(force_rollback=True):
            assert ensure_row(conn, "public.child", "tenant_id", tenant, "app.tenant_id") is None
            kind, size = one(conn, "select kind, size from child where tenant_id = %s", (tenant,))
            parents = one(conn, "select count(*) from parent where tenant_id = %s", (tenant,))[0]
        conn.execute("select set_config('app.tenant_id', %s, false)", (tenant,))
        left = one(conn, "select count(*) from child")[0]
    assert (kind, size, parents, left) == ("export", 1, 1, 0)


def test_without_a_connection_or_any_moving_session_the_app_role_is_undecided(admin_dsn: str, roles: Roles) -> None:
    assert appdb.decide_app_roles(None, None).roles == ()
    with appdb.connect(_database(admin_dsn, roles.database)) as harness:
        watcher = appdb.Watcher(harness)
        watcher.watch("tenant-0", lambda: None)  # a request that never reached the database
    undecided = appdb.decide_app_roles(None, watcher)
    assert (undecided.roles, undecided.source) == ((), "")
    assert "no session of the target database moved" in undecided.note
