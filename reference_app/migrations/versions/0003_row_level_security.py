"""row-level security on every tenant-scoped table

Revision ID: 0003
Revises: 0002
"""

from reference_app.migrations.tenancy import disable_tenant_isolation, enable_tenant_isolation

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("users", "notes", "tags", "note_tags", "comments", "attachments", "audit_log")


def upgrade() -> None:
    for table in TABLES:
        enable_tenant_isolation(table)


def downgrade() -> None:
    for table in TABLES:
        disable_tenant_isolation(table)
