"""jobs: index the claimable jobs (queued, or running with a lease that may have run out)

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The claim now also takes back running jobs whose worker died: both states are in the index.
    op.execute("CREATE INDEX jobs_claimable ON jobs (created_at) WHERE status IN ('queued', 'running')")
    op.execute("DROP INDEX jobs_queued")


def downgrade() -> None:
    op.execute("CREATE INDEX jobs_queued ON jobs (created_at) WHERE status = 'queued'")
    op.execute("DROP INDEX jobs_claimable")
