"""feedback on recommendations (accept, dismiss, thumbs down), per user and LoRA

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recommend_feedback",
        sa.Column("user", sa.String(length=200), nullable=False),
        sa.Column("lora_id", sa.Integer(), nullable=False),
        sa.Column("accepts", sa.Integer(), nullable=False),
        sa.Column("dismisses", sa.Integer(), nullable=False),
        sa.Column("downs", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lora_id"], ["loras.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user", "lora_id"),
    )
    op.create_index("ix_recommend_feedback_lora_id", "recommend_feedback", ["lora_id"])


def downgrade() -> None:
    op.drop_index("ix_recommend_feedback_lora_id", table_name="recommend_feedback")
    op.drop_table("recommend_feedback")
