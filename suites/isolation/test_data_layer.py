"""The data layer, seen as the application role: catalog audit and SQL probes.

Needs ``database.dsn`` (or ``dsn_env``) in the profile: the DSN the application itself uses,
so that every probe runs with exactly the application's privileges. Without it these
controls are reported as not assessed. Every probe runs in a transaction that is rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tenantprobe.probe import Probe
from tenantprobe.target import SeededTenant, Target

# Fixed minor releases of the RLS-related CVEs (CVE-2023-2455, CVE-2024-10976, CVE-2025-8713) per major.
FIXED_MINOR = {13: 22, 14: 19, 15: 14, 16: 10, 17: 6, 18: 0}


def _one(conn: psycopg.Connection[Any], query: Any, params: Any = None) -> tuple[Any, ...]:
    """The single row a catalog or count query must return."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, f"no row from {query}"
    return tuple(row)


@pytest.fixture(scope="module")
def app_conn(target: Target) -> Iterator[psycopg.Connection[Any]]:
    dsn = target.database_dsn
    if not dsn:
        pytest.skip("no database.dsn in the profile: the data layer cannot be assessed (set database.dsn_env)")
    with psycopg.connect(dsn) as conn:
        yield conn


@pytest.fixture(scope="module")
def tenant_tables(target: Target, app_conn: psycopg.Connection[Any]) -> list[str]:
    column = target.profile.database.tenant_column if target.profile.database else "tenant_id"
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
    return target.profile.database.tenant_column if target.profile.database else "tenant_id"


def _setting(target: Target) -> str:
    return target.profile.database.tenant_setting if target.profile.database else "app.tenant_id"


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
    probe.finish()


@pytest.mark.controls("DATA-APP-ROLE-PRIVILEGES")
def test_application_role_cannot_bypass_rls(
    app_conn: psycopg.Connection[Any], tenant_tables: list[str], probe: Probe
) -> None:
    role, superuser, bypass = _one(
        app_conn, "select rolname, rolsuper, rolbypassrls from pg_roles where rolname = current_user"
    )
    probe.check("DATA-APP-ROLE-PRIVILEGES", not superuser, f"the application role {role} is a superuser")
    probe.check("DATA-APP-ROLE-PRIVILEGES", not bypass, f"the application role {role} has BYPASSRLS")
    for table in tenant_tables:
        owns, truncate = _one(
            app_conn,
            "select pg_has_role(current_user, c.relowner, 'USAGE'), has_table_privilege(c.oid, 'TRUNCATE') "
            "from pg_class c where c.oid = %s::regclass",
            (table,),
        )
        probe.check("DATA-APP-ROLE-PRIVILEGES", not owns, f"{role} owns (or acts as the owner of) {table}")
        probe.check("DATA-APP-ROLE-PRIVILEGES", not truncate, f"{role} may TRUNCATE {table} (ignores RLS)")
    app_conn.rollback()
    probe.finish()


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
    probe.finish()


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
    probe.finish()


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
    probe.finish()


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
    probe.finish()


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


@pytest.mark.controls("DATA-RLS-PROBE")
def test_rls_holds_for_the_application_role(
    target: Target,
    app_conn: psycopg.Connection[Any],
    tenant_tables: list[str],
    tenants: list[SeededTenant],
    probe: Probe,
) -> None:
    column, setting = _column(target), _setting(target)
    a, b = tenants[0].ref.id, tenants[1].ref.id
    with app_conn.transaction():
        for context in (None, ""):
            if context is not None:
                app_conn.execute("select set_config(%s, %s, true)", (setting, context))
            for table in tenant_tables:
                count = _one(app_conn, sql.SQL("select count(*) from {}").format(sql.SQL(table)))[0]
                probe.check(
                    "DATA-RLS-PROBE",
                    count == 0,
                    f"{table}: {count} rows visible with {'no' if context is None else 'an empty'} tenant",
                )
        app_conn.execute("select set_config(%s, %s, true)", (setting, a))
        ident = sql.Identifier(column)
        for table in tenant_tables:
            t = sql.SQL(table)
            (count,) = _one(app_conn, sql.SQL("select count(*) from {} where {} = %s").format(t, ident), (b,))
            probe.check("DATA-RLS-PROBE", count == 0, f"{table}: tenant A sees {count} of B's rows")
            outcomes = {
                "update B's rows": _savepoint(
                    app_conn, sql.SQL("update {} set {} = {} where {} = %s").format(t, ident, ident, ident), (b,)
                ),
                "delete B's rows": _savepoint(app_conn, sql.SQL("delete from {} where {} = %s").format(t, ident), (b,)),
                "move A's rows to B": _savepoint(
                    app_conn, sql.SQL("update {} set {} = %s where {} = %s").format(t, ident, ident), (b, a)
                ),
            }
            for action, outcome in outcomes.items():
                probe.check(
                    "DATA-RLS-PROBE", outcome in ("ok:0", "42501"), f"{table}: tenant A could {action} ({outcome})"
                )
            inserted = _savepoint(app_conn, _copy_row_into(app_conn, table, column), (b, a))
            probe.check(
                "DATA-RLS-PROBE",
                not inserted.startswith("ok:1"),
                f"{table}: tenant A could insert a row for tenant B ({inserted})",
            )
    app_conn.rollback()
    probe.finish()


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


@pytest.mark.controls("DATA-POOL-BLEED")
def test_tenant_context_ends_with_its_transaction(
    target: Target,
    app_conn: psycopg.Connection[Any],
    tenant_tables: list[str],
    tenants: list[SeededTenant],
    probe: Probe,
) -> None:
    setting = _setting(target)
    with app_conn.transaction():
        app_conn.execute("select set_config(%s, %s, true)", (setting, tenants[0].ref.id))
    leftover = _one(app_conn, "select current_setting(%s, true)", (setting,))[0]
    visible = sum(_one(app_conn, sql.SQL("select count(*) from {}").format(sql.SQL(t)))[0] for t in tenant_tables)
    probe.check(
        "DATA-POOL-BLEED",
        not leftover and visible == 0,
        f"after the tenant's transaction the connection still has {setting}={leftover!r} and sees {visible} rows",
        actual={"setting": leftover, "visible_rows": visible},
    )
    app_conn.rollback()
    probe.finish()


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
    probe.finish()
