"""rate_buckets: the per-tenant token buckets, shared by every API worker process

Revision ID: 0007
Revises: 0006
"""

from alembic import op

from reference_app.migrations.tenancy import APP_ROLE, PLATFORM_ROLE

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Charged by the tenant gate of every request (reference_app/limits.py). Keyed by text, not by a
    # tenant column: the key names the tenant ("tenant:<uuid>"), and the row holds a counter, no tenant
    # data. UNLOGGED: a charge writes no WAL, so a read's commit does not wait for a WAL flush; a
    # crash empties the table, which gives every tenant a full bucket. fillfactor leaves room for
    # HOT updates, as every request rewrites its tenant's row.
    op.execute(
        """
        CREATE UNLOGGED TABLE rate_buckets (
            key text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 200),
            rate double precision NOT NULL CHECK (rate > 0),
            burst double precision NOT NULL CHECK (burst >= 1),
            tokens double precision NOT NULL,
            allowed boolean NOT NULL,
            updated_at timestamptz NOT NULL
        ) WITH (fillfactor = 50)
        """
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON rate_buckets TO {APP_ROLE}")
    # The platform role deletes a deprovisioned tenant's bucket; it charges buckets too when a seeded
    # fault makes the API connect as that role.
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON rate_buckets TO {PLATFORM_ROLE}")


def downgrade() -> None:
    op.execute("DROP TABLE rate_buckets")
