"""tenant-scoped tables: composite keys, tenant-inclusive foreign keys and uniques, tenant-leading indexes

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TENANT = "tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE users (
            {TENANT},
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
            email text,
            role text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, id),
            UNIQUE (tenant_id, subject)
        )
        """
    )
    op.execute(
        f"""
        CREATE TABLE notes (
            {TENANT},
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            title text NOT NULL,
            body text NOT NULL DEFAULT '',
            author text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            search tsvector GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || body)) STORED,
            PRIMARY KEY (tenant_id, id)
        )
        """
    )
    op.execute("CREATE INDEX notes_tenant_created ON notes (tenant_id, created_at DESC, id DESC)")
    op.execute("CREATE INDEX notes_tenant_search ON notes USING gin (tenant_id, search)")
    op.execute(
        f"""
        CREATE TABLE tags (
            {TENANT},
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
            PRIMARY KEY (tenant_id, id),
            UNIQUE (tenant_id, name)
        )
        """
    )
    op.execute(
        f"""
        CREATE TABLE note_tags (
            {TENANT},
            note_id uuid NOT NULL,
            tag_id uuid NOT NULL,
            PRIMARY KEY (tenant_id, note_id, tag_id),
            FOREIGN KEY (tenant_id, note_id) REFERENCES notes (tenant_id, id) ON DELETE CASCADE,
            FOREIGN KEY (tenant_id, tag_id) REFERENCES tags (tenant_id, id) ON DELETE CASCADE
        )
        """
    )
    op.execute("CREATE INDEX note_tags_tenant_tag ON note_tags (tenant_id, tag_id)")
    op.execute(
        f"""
        CREATE TABLE comments (
            {TENANT},
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            note_id uuid NOT NULL,
            body text NOT NULL,
            author text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (tenant_id, id),
            FOREIGN KEY (tenant_id, note_id) REFERENCES notes (tenant_id, id) ON DELETE CASCADE
        )
        """
    )
    op.execute("CREATE INDEX comments_tenant_note ON comments (tenant_id, note_id, created_at)")
    op.execute(
        f"""
        CREATE TABLE attachments (
            {TENANT},
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            note_id uuid NOT NULL,
            filename text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
            content_type text NOT NULL,
            size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (tenant_id, id),
            FOREIGN KEY (tenant_id, note_id) REFERENCES notes (tenant_id, id) ON DELETE CASCADE
        )
        """
    )
    op.execute("CREATE INDEX attachments_tenant_note ON attachments (tenant_id, note_id)")
    op.execute(
        f"""
        CREATE TABLE audit_log (
            {TENANT},
            id bigint GENERATED ALWAYS AS IDENTITY,
            actor text NOT NULL,
            action text NOT NULL,
            entity text NOT NULL,
            entity_id text,
            at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (tenant_id, id)
        )
        """
    )
    op.execute("CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at DESC)")


def downgrade() -> None:
    for table in ("audit_log", "attachments", "comments", "note_tags", "tags", "notes", "users"):
        op.execute(f"DROP TABLE {table}")
