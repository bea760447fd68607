"""jobs: the tenant's background work (exports, imports), queued in PostgreSQL

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from reference_app.migrations.tenancy import disable_tenant_isolation, enable_tenant_isolation

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE jobs (
            tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            kind text NOT NULL CHECK (kind IN ('export', 'import')),
            status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
            requested_by text NOT NULL,
            payload bytea,
            result bytea,
            result_bytes bigint,
            error text,
            attempts integer NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            started_at timestamptz,
            finished_at timestamptz,
            PRIMARY KEY (tenant_id, id)
        )
        """
    )
    op.execute("CREATE INDEX jobs_tenant_created ON jobs (tenant_id, created_at DESC)")
    # The worker's claim scans queued jobs of every tenant (as the platform role), oldest first.
    op.execute("CREATE INDEX jobs_queued ON jobs (created_at) WHERE status = 'queued'")
    enable_tenant_isolation("jobs")


def downgrade() -> None:
    disable_tenant_isolation("jobs")
    op.execute("DROP TABLE jobs")
