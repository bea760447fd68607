"""Rows for SQL probes: a tenant that has no row in a table is given one, inside the probe's transaction.

A row-level-security probe on a table where the victim has no row proves nothing: there is
nothing to hide, update or delete. The rows are made in the caller's transaction (which the
probes roll back), as whatever role the connection is, under the tenant's own context, so
that the table's WITH CHECK policy must accept them. Values come from the catalog: parents
through foreign keys (seeded first), the first value a CHECK lists, otherwise a plain value of
the column's type.

Example::

    with conn.transaction():
        why = ensure_row(conn, "public.comments", "tenant_id", tenant_id, "app.tenant_id")
        assert why is None, why
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import sql

MAX_DEPTH = 4
_CHECK_LITERAL = re.compile(r"'((?:[^']|'')*)'::")
_BY_TYPE = {
    "uuid": sql.SQL("gen_random_uuid()"),
    "bytea": sql.SQL("'\\x'::bytea"),
    "json": sql.SQL("'{}'::json"),
    "jsonb": sql.SQL("'{}'::jsonb"),
    "tsvector": sql.SQL("''::tsvector"),
}
_BY_CATEGORY = {"S": "tenantprobe", "N": "1", "B": "false", "D": "now", "A": "{}", "T": "1 second", "I": "127.0.0.1"}


def has_row(conn: psycopg.Connection[Any], table: str, column: str, tenant: str) -> bool:
    query = sql.SQL("select exists (select from {} where {} = %s)").format(sql.SQL(table), sql.Identifier(column))
    row = conn.execute(query, (tenant,)).fetchone()
    return bool(row and row[0])


def ensure_row(
    conn: psycopg.Connection[Any], table: str, column: str, tenant: str, setting: str, depth: int = 0
) -> str | None:
    """Give ``tenant`` a row of ``table`` unless it can already see one; None on success, else why not."""
    conn.execute("select set_config(%s, %s, true)", (setting, tenant))
    if has_row(conn, table, column, tenant):
        return None
    if depth > MAX_DEPTH:
        return f"{table}: foreign keys nest deeper than {MAX_DEPTH} tables"
    values: dict[str, sql.Composable] = {column: sql.Literal(tenant)}
    for parent, local, remote in conn.execute(
        """
        select c.confrelid::regclass::text,
               array(select a.attname::text from unnest(c.conkey) with ordinality k(n, i)
                     join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n order by k.i),
               array(select a.attname::text from unnest(c.confkey) with ordinality k(n, i)
                     join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n order by k.i)
        from pg_constraint c where c.conrelid = %s::regclass and c.contype = 'f'
        """,
        (table,),
    ).fetchall():
        if local == [column]:
            continue
        why = _from_parent(conn, parent, local, remote, column, tenant, setting, depth, values)
        if why:
            return why
    for name, type_name, category, first_label, checks in _required_columns(conn, table):
        if name in values:
            continue
        listed = [m.group(1).replace("''", "'") for check in checks for m in [_CHECK_LITERAL.search(check)] if m]
        if listed or first_label is not None:
            values[name] = sql.SQL("{}::{}").format(
                sql.Literal(listed[0] if listed else first_label), sql.SQL(type_name)
            )
        elif type_name in _BY_TYPE:
            values[name] = _BY_TYPE[type_name]
        elif category in _BY_CATEGORY:
            values[name] = sql.SQL("{}::{}").format(sql.Literal(_BY_CATEGORY[category]), sql.SQL(type_name))
        else:
            return f"{table}.{name}: no value can be made up for type {type_name}"
    conn.execute("select set_config(%s, %s, true)", (setting, tenant))
    insert = sql.SQL("insert into {} ({}) values ({})").format(
        sql.SQL(table), sql.SQL(", ").join(map(sql.Identifier, values)), sql.SQL(", ").join(values.values())
    )
    try:
        with conn.transaction():
            conn.execute(insert)
    except psycopg.Error as exc:
        return f"{table}: seeding a row failed ({exc.sqlstate}: {exc.diag.message_primary})"
    return None if has_row(conn, table, column, tenant) else f"{table}: the seeded row is not visible to its tenant"


def _from_parent(
    conn: psycopg.Connection[Any],
    parent: str,
    local: list[str],
    remote: list[str],
    column: str,
    tenant: str,
    setting: str,
    depth: int,
    values: dict[str, sql.Composable],
) -> str | None:
    """Fill the columns of one foreign key from a parent row of the same tenant (seeded if missing)."""
    tenant_parent = column in local and _has_column(conn, parent, remote[local.index(column)])
    if tenant_parent:
        why = ensure_row(conn, parent, remote[local.index(column)], tenant, setting, depth + 1)
        if why:
            return why
        where: sql.Composable = sql.SQL(" where {} = %s").format(sql.Identifier(remote[local.index(column)]))
    else:
        where = sql.SQL("")
    conn.execute("select set_config(%s, %s, true)", (setting, tenant))
    row = conn.execute(
        sql.SQL("select {} from {}{} limit 1").format(
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in remote), sql.SQL(parent), where
        ),
        (tenant,) if tenant_parent else None,
    ).fetchone()
    if row is None:
        return f"{parent}: no row to reference from the tenant's {', '.join(local)}"
    for name, value in zip(local, row, strict=True):
        values.setdefault(name, sql.Literal(value))
    return None


def _has_column(conn: psycopg.Connection[Any], table: str, column: str) -> bool:
    query = "select exists (select from pg_attribute where attrelid = %s::regclass and attname = %s)"
    row = conn.execute(query, (table, column)).fetchone()
    return bool(row and row[0])


def _required_columns(conn: psycopg.Connection[Any], table: str) -> list[tuple[str, str, str, str | None, list[str]]]:
    """NOT NULL columns without a default: name, type, type category, first enum label, CHECKs on it alone."""
    rows = conn.execute(
        """
        select a.attname::text, format_type(a.atttypid, a.atttypmod), t.typcategory::text,
               (select e.enumlabel::text from pg_enum e where e.enumtypid = a.atttypid
                order by e.enumsortorder limit 1),
               array(select pg_get_constraintdef(c.oid) from pg_constraint c
                     where c.conrelid = a.attrelid and c.contype = 'c' and c.conkey = array[a.attnum])
        from pg_attribute a join pg_type t on t.oid = a.atttypid
        where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped and a.attnotnull
          and not a.atthasdef and a.attgenerated = '' and a.attidentity = ''
        order by a.attnum
        """,
        (table,),
    ).fetchall()
    return [(name, type_name, category, label, list(checks)) for name, type_name, category, label, checks in rows]
