"""Building blocks every tenant-scoped table's migration uses, so none can forget one.

The checklist a tenant-scoped table must meet (the catalog audit of the isolation suite
checks the same list): ``tenant_id uuid NOT NULL`` referencing ``tenants`` with
``ON DELETE CASCADE``; a primary key and every unique constraint that include ``tenant_id``;
foreign keys to other tenant tables that include ``tenant_id``; indexes that lead with
``tenant_id``; row-level security enabled *and forced*, with one policy whose ``USING`` and
``WITH CHECK`` both compare ``tenant_id`` with the transaction's ``app.tenant_id``.
"""

from alembic import op

# NULL when unset or empty, so "no tenant context" matches no row rather than raising.
CURRENT_TENANT = "nullif(current_setting('app.tenant_id', true), '')::uuid"
APP_ROLE = "pake_app"
PLATFORM_ROLE = "pake_platform"


def enable_tenant_isolation(table: str, column: str = "tenant_id") -> None:
    """Force row-level security on ``table`` and grant the app role the DML it needs (never TRUNCATE)."""
    # Without these two statements PostgreSQL ignores the policy (and the table owner bypasses it).
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    create_tenant_policy(table, column)


def create_tenant_policy(table: str, column: str = "tenant_id") -> None:
    """The tenant policy on ``table`` and the app roles' DML grants (never TRUNCATE)."""
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} "
        f"USING ({column} = {CURRENT_TENANT}) WITH CHECK ({column} = {CURRENT_TENANT})"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {PLATFORM_ROLE}")


def disable_tenant_isolation(table: str) -> None:
    op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}, {PLATFORM_ROLE}")
    op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
