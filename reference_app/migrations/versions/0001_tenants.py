"""tenants: the root of every tenant-scoped row

Revision ID: 0001
Revises:
"""

from alembic import op

from reference_app.migrations.tenancy import APP_ROLE, CURRENT_TENANT, PLATFORM_ROLE

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}, {PLATFORM_ROLE}")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute(
        """
        CREATE TABLE tenants (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            plan text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'pro', 'enterprise')),
            status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # The app role sees only the tenant of its transaction; the platform role bypasses RLS.
    op.execute("ALTER TABLE tenants ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE tenants FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_self ON tenants FOR SELECT USING (id = {CURRENT_TENANT})")
    op.execute(f"GRANT SELECT ON tenants TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON tenants TO {PLATFORM_ROLE}")


def downgrade() -> None:
    op.execute("DROP TABLE tenants")
    op.execute("DROP EXTENSION IF EXISTS btree_gin")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}, {PLATFORM_ROLE}")
    op.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
