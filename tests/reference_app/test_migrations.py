"""Migrations: one head, upgrade from empty, every downgrade works and restores the RLS catalog."""

from __future__ import annotations

import psycopg
from alembic.script import ScriptDirectory

from reference_app import database
from reference_app.database import DatabaseUrls
from tests.conftest import new_database

RLS_CATALOG = """
select c.relname, c.relrowsecurity, c.relforcerowsecurity,
       coalesce((select json_agg(json_build_object('name', p.policyname, 'cmd', p.cmd, 'roles', p.roles,
                                                   'qual', p.qual, 'check', p.with_check)
                                 order by p.policyname)
                 from pg_policies p where p.tablename = c.relname)::text, '[]') as policies
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and c.relkind = 'r' and c.relname <> 'alembic_version'
order by c.relname
"""


def rls_catalog(dsn: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(RLS_CATALOG).fetchall()


def test_migrations_have_a_single_head() -> None:
    script = ScriptDirectory.from_config(database.alembic_config("postgresql://unused"))
    assert len(script.get_heads()) == 1


def test_upgrade_from_empty_creates_every_tenant_table_with_forced_rls(
    admin_dsn: str, role_passwords: dict[str, str]
) -> None:
    urls = new_database(admin_dsn, role_passwords)
    database.upgrade(urls.owner)
    catalog = {row[0]: row for row in rls_catalog(urls.owner)}
    expected = {"tenants", "users", "notes", "tags", "note_tags", "comments", "attachments", "audit_log"}
    assert expected <= set(catalog)
    for table in expected:
        _, enabled, forced, policies = catalog[table]
        assert enabled, table
        assert forced, table
        assert policies != "[]", table


def test_each_downgrade_then_upgrade_restores_the_rls_catalog(db: DatabaseUrls) -> None:
    script = ScriptDirectory.from_config(database.alembic_config(db.owner))
    revisions = [rev.revision for rev in script.walk_revisions()]
    before = rls_catalog(db.owner)
    for _ in revisions:
        database.downgrade(db.owner, "-1")
    assert rls_catalog(db.owner) == [], "downgrade to base must drop every table"
    database.upgrade(db.owner, "head")
    assert rls_catalog(db.owner) == before


def test_single_step_round_trip_of_the_rls_migration(db: DatabaseUrls) -> None:
    """Down one step at a time to the latest migration that changes row-level security, then up again."""
    before = rls_catalog(db.owner)
    steps = 0
    while rls_catalog(db.owner) == before:
        database.downgrade(db.owner, "-1")
        steps += 1
    for _ in range(steps):
        database.upgrade(db.owner, "+1")
    assert rls_catalog(db.owner) == before
