"""The images of jobs shared by several hosts (docs/several-hosts.md)

Revision ID: 0017
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_images",
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("mime", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "idx"),
    )
    op.create_index("ix_job_images_created_at", "job_images", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_job_images_created_at", table_name="job_images")
    op.drop_table("job_images")
