"""The data layer: catalog audit, and SQL probes as the role the application really uses.

Needs ``database.dsn`` (or ``dsn_env``): a DSN for the target database. It need not be the
application's own: the role the app serves tenant requests as is ``database.app_role``, or
is observed in ``pg_stat_activity`` while tenant requests go through the API
(``tenantprobe.appdb``), and the probes ``SET ROLE`` to it when the DSN's role is another.
Without a DSN these controls are reported as not assessed. Every probe runs in a
transaction that is rolled back, the rows it seeds included.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tenantprobe import appdb
from tenantprobe.controls import load_catalogue
from tenantprobe.openapi import Creator, valid_body
from tenantprobe.probe import Actor, Exchange, Probe
from tenantprobe.profiles import DatabaseSettings
from tenantprobe.records import ResultRecord, Status
from tenantprobe.sqlseed import ensure_row
from tenantprobe.target import SeededTenant, Target

# Fixed minor releases of the RLS-related CVEs (CVE-2023-2455, CVE-2024-10976, CVE-2025-8713) per major.
FIXED_MINOR = {13: 22, 14: 19, 15: 14, 16: 10, 17: 6, 18: 0}
# Requests per tenant turn when the app's sessions cannot be counted (no DSN), and the cap when they can.
DEFAULT_TURN = 16
MAX_TURN = 64
NO_DSN = "no database.dsn in the profile: the data layer cannot be assessed (set database.dsn_env)"
GRANT_HINT = (
    "give database.dsn a role that can see the app's sessions (a member of the app's role, or of "
    "pg_read_all_stats), or name the app's role in database.app_role"
)


def _one(conn: psycopg.Connection[Any], query: Any, params: Any = None) -> tuple[Any, ...]:
    """The single row a catalog or count query must return."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, f"no row from {query}"
    return tuple(row)


def _database(target: Target) -> DatabaseSettings:
    return target.profile.database or DatabaseSettings()


@pytest.fixture(scope="module")
def app_conn(target: Target) -> Iterator[psycopg.Connection[Any]]:
    dsn = target.database_dsn
    if not dsn:
        pytest.skip(NO_DSN)
    # Named, so that watching the app's sessions leaves the harness's own out.
    with psycopg.connect(dsn, application_name=appdb.APPLICATION_NAME) as conn:
        yield conn


@pytest.fixture(scope="module")
def tenant_tables(target: Target, app_conn: psycopg.Connection[Any]) -> list[str]:
    column = _column(target)
    rows = app_conn.execute(
        """
        select format('%%I.%%I', n.nspname, c.relname) from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attname = %s and not a.attisdropped
        where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
        order by 1
        """,
        (column,),
    ).fetchall()
    app_conn.rollback()
    if not rows:
        pytest.fail(f"no table has the tenant column {column!r}: is database.tenant_column right?")
    return [name for (name,) in rows]


def _column(target: Target) -> str:
    return _database(target).tenant_column


def _setting(target: Target) -> str:
    return _database(target).tenant_setting


@dataclass
class Created:
    """An object a tenant created through the API during the traffic, named by a fresh canary."""

    tenant: SeededTenant
    canary: str
    exchange: Exchange


@dataclass
class Traffic:
    """Two tenants' requests sent one at a time through the API, in turns, and the app sessions each moved."""

    path: str | None
    exchanges: list[Exchange]
    watcher: appdb.Watcher | None
    created: list[Created] = field(default_factory=list)
    note: str = ""


def _canary_read(target: Target, actor: Actor) -> str | None:
    """A collection read whose answer shows seeded objects: the only way to tell whose context served it."""
    for operation in target.api.collection_reads():
        if (
            not operation.secured
            or target.is_platform_operation(operation.path)
            or any(q.required for q in operation.query)
        ):
            continue
        exchange = target.client.send(actor, "GET", operation.path)
        if exchange.ok and target.canaries.foreign(exchange.text, None):
            return operation.path
    return None


def _top_level_creator(tenant: SeededTenant) -> Creator | None:
    """A creator without parents whose answer echoed the seeded canary (so the canary is stored as sent)."""
    return next(
        (o.creator for o in tenant.objects if o.creator.depth == 0 and o.canary in json.dumps(o.snapshot)), None
    )


def _create(target: Target, creator: Creator, tenant: SeededTenant, actor: Actor) -> Created:
    canary = target.canaries.issue(tenant.slug)
    body = valid_body(creator.operation.body_schema, canary)
    if isinstance(body, dict):
        body.update({key: tenant.ref.id for key in target.tenant_fields if key in body})
    return Created(tenant, canary, target.client.send(actor, "POST", creator.operation.path, json_body=body))


@pytest.fixture(scope="module")
def traffic(target: Target, tenants: list[SeededTenant]) -> Iterator[Traffic]:
    """Turns of tenant A, B, A, B, each long enough to pass over every pooled connection.

    Each turn opens with a create, so that the tenant's write meets a connection the other
    tenant used last, then reads. One request at a time, so that the sessions that moved in
    ``pg_stat_activity`` between two requests are the ones that served it. A turn has one
    request more than the target database has sessions, so a pool that hands connections out
    in order (or the most recent first) gives the next tenant a connection the previous one used.
    The objects created are deleted afterwards where the API can.
    """
    first, second = tenants[0], tenants[1]
    actors = {t.slug: target.actor(t.ref, target.profile.highest_role) for t in (first, second)}
    path = _canary_read(target, actors[first.slug])
    if path is None:
        note = (
            "no collection read (GET without path parameters) shows a tenant its seeded objects, so no answer "
            "can tell whose tenant context served it (see the profile's openapi and skip_operations)"
        )
        yield Traffic(None, [], None, note=note)
        return
    creator = _top_level_creator(first)
    dsn = target.database_dsn
    with contextlib.ExitStack() as stack:
        watcher = appdb.Watcher(stack.enter_context(appdb.connect(dsn))) if dsn else None
        turn = min(MAX_TURN, len(watcher.last) + 1) if watcher else DEFAULT_TURN
        traffic = Traffic(path, [], watcher)
        for tenant in (first, second, first, second):
            actor = actors[tenant.slug]
            # Where a write landed can only be seen in the database.
            if creator is not None and watcher is not None:
                made = watcher.watch(tenant.slug, partial(_create, target, creator, tenant, actor))
                traffic.created.append(made)
                traffic.exchanges.append(made.exchange)
            for _ in range(turn):

                def read(actor: Actor = actor) -> Exchange:
                    return target.client.send(actor, "GET", path)

                traffic.exchanges.append(watcher.watch(tenant.slug, read) if watcher else read())
        yield traffic
    delete = target.api.find("DELETE", creator.item_path) if creator else None
    if creator is None or delete is None:
        return
    for made in traffic.created:
        identifier = (made.exchange.json() or {}).get("id") if made.exchange.ok else None
        if isinstance(identifier, str):
            target.client.send(actors[made.tenant.slug], "DELETE", delete.url({creator.id_param: identifier}))


def _stored_under(
    conn: psycopg.Connection[Any], target: Target, tables: list[str], tenants: list[SeededTenant], canary: str
) -> list[str]:
    """The tenants under whose own context (and tenant column) a row holding ``canary`` is stored."""
    column, setting, owners = _column(target), _setting(target), []
    for tenant in tenants:
        with conn.transaction(force_rollback=True):
            conn.execute("select set_config(%s, %s, true)", (setting, tenant.ref.id))
            for table in tables:
                query = sql.SQL("select count(*) from {} t where {} = %s and strpos(t::text, %s) > 0").format(
                    sql.SQL(table), sql.Identifier(column)
                )
                if _one(conn, query, (tenant.ref.id, canary))[0]:
                    owners.append(tenant.slug)
                    break
    return owners


def _write(
    probe: Probe,
    control_id: str,
    status: Status,
    summary: str,
    measured: dict[str, Any],
    evidence: list[dict[str, Any]] | None = None,
) -> None:
    """A record with what was observed (roles, sessions, requests), which a judged attempt would not carry."""
    probe.record(
        ResultRecord(
            control_id=control_id,
            check_id=probe.check_id,
            status=status,
            severity=load_catalogue().get(control_id).severity,
            summary=summary[:2000],
            measured=measured,
            evidence=evidence or [],
        )
    )


@pytest.mark.attack("data-layer")
@pytest.mark.controls("DATA-RLS-FORCED", "DATA-RLS-POLICY-COVERAGE")
def test_row_level_security_is_forced_with_tenant_policies(
    target: Target, app_conn: psycopg.Connection[Any], tenant_tables: list[str], probe: Probe
) -> None:
    setting = _setting(target)
    for table in tenant_tables:
        enabled, forced = _one(
            app_conn, "select relrowsecurity, relforcerowsecurity from pg_class where oid = %s::regclass", (table,)
        )
        probe.check(
            "DATA-RLS-FORCED",
            enabled and forced,
            f"{table}: row level security {'enabled' if enabled else 'DISABLED'}, "
            f"{'forced' if forced else 'NOT forced'}",
        )
        policies = app_conn.execute(
            "select policyname, permissive, cmd, qual, with_check from pg_policies "
            "where format('%%I.%%I', schemaname, tablename) = %s",
            (table,),
        ).fetchall()
        commands = {cmd for _, _, cmd, _, _ in policies}
        covered = "ALL" in commands or {"SELECT", "INSERT", "UPDATE", "DELETE"} <= commands
        probe.check(
            "DATA-RLS-POLICY-COVERAGE",
            bool(policies) and covered,
            f"{table}: policies cover {sorted(commands) or 'no command'}",
        )
        for name, permissive, cmd, qual, check in policies:
            expressions = [e for e in (qual, check) if e is not None]
            scoped = bool(expressions) and all(setting in e for e in expressions)
            probe.check(
                "DATA-RLS-POLICY-COVERAGE",
                permissive != "PERMISSIVE" or scoped,
                f"{table}: permissive policy {name} ({cmd}) is not scoped by {setting}: "
                f"USING {qual!r} WITH CHECK {check!r}",
            )
    app_conn.rollback()


@pytest.mark.attack("data-layer")
@pytest.mark.controls("DATA-APP-ROLE-PRIVILEGES")
def test_application_role_cannot_bypass_rls(
    target: Target,
    app_conn: psycopg.Connection[Any],
    tenant_tables: list[str],
    traffic: Traffic,
    probe: Probe,
) -> None:
    """The role that serves tenant requests, and every role it can SET ROLE to, must be unable to skip RLS."""
    roles = appdb.decide_app_roles(_database(target).app_role, traffic.watcher)
    if not roles.roles:
        pytest.skip(f"the application's database role is unknown: {roles.note}; {GRANT_HINT}")
    findings = {role: appdb.privilege_findings(app_conn, role, tenant_tables) for role in roles.roles}
    app_conn.rollback()
    if roles.source == "inferred" and not all(findings.values()):
        pytest.skip(
            f"{roles.note}, and not all of them can bypass RLS, so which one serves requests is unknown; {GRANT_HINT}"
        )
    failed = [finding for found in findings.values() for finding in found]
    measured = {
        "app_roles": list(roles.roles),
        "app_role_source": roles.source,
        "roles_seen": list(roles.seen),
        "roles_hidden_from_harness": list(roles.hidden),
    }
    how = f"(application role {', '.join(roles.roles)}: {roles.note}; roles seen on the database: " + (
        f"{', '.join(roles.seen) or 'none'})"
    )
    _write(
        probe,
        "DATA-APP-ROLE-PRIVILEGES",
        Status.FAIL if failed else Status.PASS,
        f"{'; '.join(failed)} {how}" if failed else f"the application role cannot bypass row-level security {how}",
        measured,
    )
    assert not failed, f"[DATA-APP-ROLE-PRIVILEGES] {'; '.join(failed)} {how}"


@pytest.mark.attack("data-layer")
@pytest.mark.controls("DATA-COMPOSITE-KEYS")
def test_keys_and_constraints_include_the_tenant(
    target: Target, app_conn: psycopg.Connection[Any], tenant_tables: list[str], probe: Probe
) -> None:
    column = _column(target)
    for table in tenant_tables:
        not_null = _one(
            app_conn,
            "select attnotnull from pg_attribute where attrelid = %s::regclass and attname = %s",
            (table, column),
        )[0]
        probe.check("DATA-COMPOSITE-KEYS", not_null, f"{table}.{column} is nullable")
        constraints = app_conn.execute(
            """
            select con.conname, con.contype, con.confdeltype,
                   array(select a.attname::text from unnest(con.conkey) k join pg_attribute a
                         on a.attrelid = con.conrelid and a.attnum = k),
                   con.confrelid::regclass::text,
                   exists (select 1 from pg_attribute a where a.attrelid = con.confrelid and a.attname = %s)
            from pg_constraint con where con.conrelid = %s::regclass and con.contype in ('p', 'u', 'f')
            """,
            (column, table),
        ).fetchall()
        kinds = {kind for _, kind, *_ in constraints}
        probe.check("DATA-COMPOSITE-KEYS", "p" in kinds, f"{table} has no primary key")
        for name, kind, on_delete, columns, referenced, referenced_is_tenant_table in constraints:
            if kind in ("p", "u"):
                probe.check(
                    "DATA-COMPOSITE-KEYS",
                    column in columns,
                    f"{table}: {'primary key' if kind == 'p' else 'unique'} {name} {columns} lacks {column}",
                )
            elif referenced_is_tenant_table:
                probe.check(
                    "DATA-COMPOSITE-KEYS",
                    column in columns,
                    f"{table}: foreign key {name} {columns} to {referenced} lacks {column}",
                )
            elif columns == [column]:
                probe.check(
                    "DATA-COMPOSITE-KEYS",
                    on_delete == "c",
                    f"{table}: {column} references {referenced} without ON DELETE CASCADE",
                )
    app_conn.rollback()


@pytest.mark.attack("data-layer")
@pytest.mark.controls("DATA-SECURITY-DEFINER")
def test_no_function_or_view_bypasses_rls(
    app_conn: psycopg.Connection[Any], tenant_tables: list[str], probe: Probe
) -> None:
    definers = app_conn.execute(
        """
        select p.oid::regprocedure::text, r.rolname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        join pg_roles r on r.oid = p.proowner
        where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema')
          and (r.rolsuper or r.rolbypassrls or exists (select 1 from pg_class c where c.relowner = p.proowner
                                                       and c.relrowsecurity))
        """
    ).fetchall()
    for function, owner_role in definers:
        probe.check("DATA-SECURITY-DEFINER", False, f"SECURITY DEFINER function {function} runs as {owner_role}")
    views = app_conn.execute(
        """
        select distinct v.oid::regclass::text from pg_class v
        join pg_rewrite w on w.ev_class = v.oid join pg_depend d on d.objid = w.oid
        where v.relkind in ('v', 'm') and d.refobjid = any(%s::regclass[])
          and not coalesce('security_invoker=true' = any(v.reloptions), false)
        """,
        (tenant_tables,),
    ).fetchall()
    for (view,) in views:
        probe.check("DATA-SECURITY-DEFINER", False, f"view {view} over a tenant table runs as its owner")
    probe.check("DATA-SECURITY-DEFINER", True, "catalog audited")
    app_conn.rollback()


@pytest.mark.attack("data-layer")
@pytest.mark.controls("DATA-TENANT-INDEX")
def test_tenant_leading_indexes_serve_lookups(
    target: Target, app_conn: psycopg.Connection[Any], tenant_tables: list[str], probe: Probe
) -> None:
    column = _column(target)
    for table in tenant_tables:
        leading = _one(
            app_conn,
            "select count(*) from pg_index i join pg_attribute a on a.attrelid = i.indrelid "
            "and a.attnum = i.indkey[0] where i.indrelid = %s::regclass and a.attname = %s",
            (table, column),
        )[0]
        probe.check("DATA-TENANT-INDEX", leading > 0, f"{table} has no index leading with {column}")
    app_conn.execute("set local enable_seqscan = off")
    for table in tenant_tables:
        (has_id,) = _one(
            app_conn,
            "select exists (select from pg_attribute where attrelid = %s::regclass and attname = 'id')",
            (table,),
        )
        if not has_id:
            continue
        plan = _one(
            app_conn,
            sql.SQL("explain (format json) select * from {} where {} = %s and id::text = %s").format(
                sql.SQL(table), sql.Identifier(column)
            ),
            ("00000000-0000-0000-0000-000000000000", "0"),
        )[0]
        text = str(plan)
        probe.check(
            "DATA-TENANT-INDEX", "Index" in text, f"a tenant lookup on {table} does not use an index", actual=text[:500]
        )
    app_conn.rollback()


@pytest.mark.attack("data-layer")
@pytest.mark.controls("DATA-SERVER-VERSION")
def test_server_has_the_rls_cve_fixes(app_conn: psycopg.Connection[Any], probe: Probe) -> None:
    version = app_conn.info.server_version
    major, minor = version // 10000, version % 10000
    fixed = FIXED_MINOR.get(major)
    ok = (fixed is not None and minor >= fixed) or major > max(FIXED_MINOR)
    probe.check(
        "DATA-SERVER-VERSION",
        ok,
        f"PostgreSQL {major}.{minor} lacks RLS CVE fixes (needs {major}.{fixed})",
        expected=f">= {major}.{fixed}",
        actual=f"{major}.{minor}",
    )


def _savepoint(conn: psycopg.Connection[Any], statement: sql.Composed, params: tuple[Any, ...]) -> str:
    """Run one probe statement; returns 'ok:<rowcount>' or the SQLSTATE it failed with."""
    try:
        with conn.transaction():
            cursor = conn.execute(statement, params)
            rowcount = cursor.rowcount
            raise _Rollback(f"ok:{rowcount}")
    except _Rollback as outcome:
        return str(outcome)
    except psycopg.Error as exc:
        return exc.sqlstate or "error"


class _Rollback(Exception):
    pass


@pytest.mark.attack("data-layer")
@pytest.mark.controls("DATA-RLS-PROBE")
def test_rls_holds_for_the_application_role(
    target: Target,
    tenant_tables: list[str],
    tenants: list[SeededTenant],
    traffic: Traffic,
    probe: Probe,
) -> None:
    """Probes as each application role, on rows seeded for both tenants inside the rolled-back transaction."""
    roles = appdb.decide_app_roles(_database(target).app_role, traffic.watcher)
    if not roles.roles:
        pytest.skip(f"the application's database role is unknown: {roles.note}; {GRANT_HINT}")
    dsn = target.database_dsn
    assert dsn is not None  # tenant_tables needs it
    unprobed, gaps = [], []
    for role in roles.roles:
        # A fresh session: the tenant setting has never been set in it, the "no context" case.
        with appdb.connect(dsn) as conn, conn.transaction(force_rollback=True):
            if why := _become(conn, role):
                unprobed.append(why)
                continue
            if gap := _probe_as_role(conn, role, target, tenant_tables, tenants, probe):
                gaps.append(gap)
    if len(unprobed) == len(roles.roles):
        pytest.skip("; ".join(unprobed))
    if unprobed or gaps:
        probe.not_assessed("DATA-RLS-PROBE", "; ".join(unprobed + gaps))


def _become(conn: psycopg.Connection[Any], role: str) -> str | None:
    """SET ROLE to the application role for this transaction; None, or why the harness cannot."""
    (current,) = _one(conn, "select current_user")
    if current == role:
        return None
    try:
        with conn.transaction():
            conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
    except psycopg.Error as exc:
        return (
            f"the probes must run as the application role {role}, but database.dsn connects as {current}, which "
            f"cannot SET ROLE {role} ({exc.sqlstate}); give database.dsn the app's role or a member of it"
        )
    return None


def _seed(conn: psycopg.Connection[Any], role: str, table: str, column: str, setting: str, tenant: str) -> str | None:
    """A row of ``tenant`` in ``table``: as the app role, else as the DSN's own role (an owner or platform role)."""
    why = ensure_row(conn, table, column, tenant, setting)
    if why and _one(conn, "select session_user")[0] != role:
        conn.execute("set local role none")
        why = ensure_row(conn, table, column, tenant, setting)
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
    return why


def _probe_as_role(
    conn: psycopg.Connection[Any],
    role: str,
    target: Target,
    tenant_tables: list[str],
    tenants: list[SeededTenant],
    probe: Probe,
) -> str | None:
    """The probes as ``role``; returns which tables could not be probed for want of rows, if any."""
    column, setting = _column(target), _setting(target)
    a, b = tenants[0].ref.id, tenants[1].ref.id
    # Before anything sets it: committed rows (seeded through the API) must stay hidden without a tenant.
    for table in tenant_tables:
        count = _one(conn, sql.SQL("select count(*) from {}").format(sql.SQL(table)))[0]
        probe.check("DATA-RLS-PROBE", count == 0, f"{table}: {count} rows visible to {role} with no tenant set")
    unseeded = {}
    for table in tenant_tables:
        for tenant in (a, b):
            if why := _seed(conn, role, table, column, setting, tenant):
                unseeded[table] = why
    conn.execute("select set_config(%s, '', true)", (setting,))
    for table in tenant_tables:
        count = _one(conn, sql.SQL("select count(*) from {}").format(sql.SQL(table)))[0]
        probe.check("DATA-RLS-PROBE", count == 0, f"{table}: {count} rows visible to {role} with an empty tenant")
    conn.execute("select set_config(%s, %s, true)", (setting, a))
    ident = sql.Identifier(column)
    for table in (t for t in tenant_tables if t not in unseeded):
        t = sql.SQL(table)
        (count,) = _one(conn, sql.SQL("select count(*) from {} where {} = %s").format(t, ident), (b,))
        probe.check("DATA-RLS-PROBE", count == 0, f"{table}: as {role}, tenant A sees {count} of B's rows")
        outcomes = {
            "update B's rows": _savepoint(
                conn, sql.SQL("update {} set {} = {} where {} = %s").format(t, ident, ident, ident), (b,)
            ),
            "delete B's rows": _savepoint(conn, sql.SQL("delete from {} where {} = %s").format(t, ident), (b,)),
            "move A's rows to B": _savepoint(
                conn, sql.SQL("update {} set {} = %s where {} = %s").format(t, ident, ident), (b, a)
            ),
        }
        for action, outcome in outcomes.items():
            probe.check(
                "DATA-RLS-PROBE",
                outcome in ("ok:0", "42501"),
                f"{table}: as {role}, tenant A could {action} ({outcome})",
            )
        inserted = _savepoint(conn, _copy_row_into(conn, table, column), (b, a))
        probe.check(
            "DATA-RLS-PROBE",
            not inserted.startswith("ok:1"),
            f"{table}: as {role}, tenant A could insert a row for tenant B ({inserted})",
        )
    return (
        f"as {role}, no row could be seeded for both tenants in " + "; ".join(unseeded.values()) if unseeded else None
    )


def _copy_row_into(conn: psycopg.Connection[Any], table: str, column: str) -> sql.Composed:
    """INSERT that copies one of A's rows with the tenant set to B (generated columns left out)."""
    columns = [
        name
        for (name,) in conn.execute(
            "select attname from pg_attribute where attrelid = %s::regclass and attnum > 0 and not attisdropped "
            "and attgenerated = '' and attidentity <> 'a' and attname <> %s order by attnum",
            (table, column),
        ).fetchall()
    ]
    listed = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    return sql.SQL("insert into {} ({}, {}) select %s, {} from {} where {} = %s limit 1").format(
        sql.SQL(table), sql.Identifier(column), listed, listed, sql.SQL(table), sql.Identifier(column)
    )


@pytest.mark.attack("data-layer")
@pytest.mark.controls("DATA-POOL-BLEED")
def test_tenant_context_does_not_outlive_its_request(
    request: pytest.FixtureRequest,
    target: Target,
    tenants: list[SeededTenant],
    traffic: Traffic,
    probe: Probe,
) -> None:
    """Whoever used a pooled connection last, each request must run in the caller's own tenant context.

    Two signs that it did not: an object a tenant created is stored under another tenant (its
    canary is found in that tenant's rows), or a read shows another tenant's objects and none
    of the caller's. An idle app session whose last statement set the tenant for the whole
    session is a third. A pass also needs ``pg_stat_activity`` to show one session serving
    both tenants in turn.
    """
    if traffic.path is None:
        pytest.skip(traffic.note)
    for exchange in traffic.exchanges:
        probe.scan(exchange)
    reads = [e for e in traffic.exchanges if e.method == "GET"]
    wrong = [(e, owners) for e in reads if (owners := _context_shown(target, e)) and owners != ["(own)"]]
    own_only = sum(1 for e in reads if _context_shown(target, e) == ["(own)"])
    misplaced, placed = _placement(request, target, tenants, traffic)
    watcher, setting = traffic.watcher, _setting(target)
    roles = appdb.decide_app_roles(_database(target).app_role, watcher)
    reused = appdb.cross_tenant_reuse(watcher.windows, roles.roles) if watcher else []
    lingering = [
        s
        for s in (watcher.last.values() if watcher else ())
        if s.role in roles.roles and s.state == "idle" and appdb.sets_tenant_for_session(s.query, setting)
    ]
    requests = len(traffic.exchanges)
    measured = {
        "requests": requests,
        "objects_created": len(traffic.created),
        "objects_stored_under_another_tenant": len(misplaced),
        "reads_in_another_tenants_context": len(wrong),
        "reads_in_own_context": own_only,
        "sessions_reused_across_tenants": len({pid for pid, _, _ in reused}),
        "app_roles": list(roles.roles),
        "app_role_source": roles.source,
        "roles_seen": list(roles.seen),
    }
    findings = (
        [
            f"{made.tenant.slug} created an object (POST {made.exchange.url}) after another tenant's requests, and it "
            f"was stored as {', '.join(owners)}'s: the tenant context outlived its request on a pooled connection"
            for made, owners in misplaced[:3]
        ]
        + [
            f"{exchange.actor.name} got only {', '.join(owners)}'s objects from GET {traffic.path} after other "
            "tenants' requests: the request ran in another tenant's context"
            for exchange, owners in wrong[:3]
        ]
        + [
            f"idle session {s.pid} ({s.role}) keeps a tenant for the whole session; its last statement: {s.query[:200]}"
            for s in lingering[:3]
        ]
    )
    skip = (
        f"no request showed the caller its own objects (GET {traffic.path}) or stored them where tenantprobe "
        "can find them: nothing to judge by"
        if not own_only and not placed
        else f"no tenant context bled in {requests} alternating requests, but without a database connection "
        "tenantprobe cannot see whether the app reused a connection between tenants (set database.dsn)"
        if watcher is None
        else f"no application session served tenants in turn during {requests} requests "
        f"({roles.note or 'application role unknown'}); {GRANT_HINT}"
        if not reused
        else ""
    )
    summary = (
        "; ".join(findings)
        if findings
        else f"{len(reused)} times a session of {', '.join(roles.roles)} served one tenant right after another; "
        f"{placed} created objects were stored under their own tenant and {own_only} reads of GET {traffic.path} "
        "showed only the caller's objects"
    )
    if findings or not skip:
        evidence = [made.exchange.evidence() for made, _ in misplaced[:2]] + [e.evidence() for e, _ in wrong[:2]]
        status = Status.FAIL if findings else Status.PASS
        _write(probe, "DATA-POOL-BLEED", status, summary, measured, evidence)
    else:
        probe.not_assessed("DATA-POOL-BLEED", skip)
    probe.finish()  # the canary oracle's records: a foreign canary fails the test, a gap skips it with the reason
    assert not findings, f"[DATA-POOL-BLEED] {summary}"


def _context_shown(target: Target, exchange: Exchange) -> list[str]:
    """``["(own)"]`` for an answer with only the caller's objects; the owners of an answer with only others'."""
    viewer = exchange.actor.tenant.slug if exchange.actor.tenant else ""
    foreign = target.canaries.foreign(exchange.text, viewer)
    own = any(canary in exchange.text for canary in target.canaries.of(viewer))
    if own and not foreign:
        return ["(own)"]
    # Own and foreign together is a list that is not filtered (API-LIST-FILTER), not a context gone wrong.
    return sorted(set(foreign.values())) if foreign and not own else []


def _placement(
    request: pytest.FixtureRequest, target: Target, tenants: list[SeededTenant], traffic: Traffic
) -> tuple[list[tuple[Created, list[str]]], int]:
    """Objects stored under another tenant (with whose), and how many were stored under their own."""
    dsn = target.database_dsn
    if not dsn or not traffic.created:
        return [], 0
    tables: list[str] = request.getfixturevalue("tenant_tables")
    misplaced, placed = [], 0
    with appdb.connect(dsn) as conn:
        for made in traffic.created:
            owners = _stored_under(conn, target, tables, tenants, made.canary) if made.exchange.ok else []
            if owners == [made.tenant.slug]:
                placed += 1
            elif owners:
                misplaced.append((made, [o for o in owners if o != made.tenant.slug] or owners))
    return misplaced, placed


@pytest.mark.attack("data-layer")
@pytest.mark.controls("DATA-DEPROVISION-COMPLETE")
def test_deprovisioning_leaves_no_row(
    target: Target, app_conn: psycopg.Connection[Any], tenant_tables: list[str], probe: Probe
) -> None:
    if not target.profile.provisioning.deprovision_path or target.profile.provisioning.kind != "admin_endpoint":
        pytest.skip("provisioning.deprovision_path is not set: deprovisioning cannot be exercised")
    doomed = target.seed(target.provision(), probe)
    assert doomed.objects, "the doomed tenant could not create any object"
    removal = target.lifecycle("deprovision", doomed.ref)
    probe.check("DATA-DEPROVISION-COMPLETE", removal.ok, f"deprovisioning answered {removal.status}", [removal])
    column, setting = _column(target), _setting(target)
    with app_conn.transaction():
        app_conn.execute("select set_config(%s, %s, true)", (setting, doomed.ref.id))
        for table in tenant_tables:
            left = _one(
                app_conn,
                sql.SQL("select count(*) from {} where {} = %s").format(sql.SQL(table), sql.Identifier(column)),
                (doomed.ref.id,),
            )[0]
            probe.check("DATA-DEPROVISION-COMPLETE", left == 0, f"{table} still holds {left} rows of {doomed.slug}")
    app_conn.rollback()
