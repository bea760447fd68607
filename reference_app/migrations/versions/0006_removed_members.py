"""removed_members: subjects whose membership was removed, so their tokens lose the tenant's rights at once

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from reference_app.migrations.tenancy import disable_tenant_isolation, enable_tenant_isolation

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A token outlives a membership: the tenant gate reads this table (and users) on every request.
    op.execute(
        """
        CREATE TABLE removed_members (
            tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
            removed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, subject)
        )
        """
    )
    enable_tenant_isolation("removed_members")


def downgrade() -> None:
    disable_tenant_isolation("removed_members")
    op.execute("DROP TABLE removed_members")
