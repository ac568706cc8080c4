"""recorded generations and the LoRAs they used

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "generations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column("checkpoint", sa.Text(), nullable=True),
        sa.Column("checkpoint_family", sa.String(length=32), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("steps", sa.Integer(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("sampler", sa.String(length=64), nullable=True),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("negative_prompt", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_generations_started_at", "generations", ["started_at"])
    op.create_index("ix_generations_outcome", "generations", ["outcome"])
    op.create_table(
        "generation_loras",
        sa.Column("generation_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("prompt_name", sa.Text(), nullable=False),
        sa.Column("lora_id", sa.Integer(), nullable=True),
        sa.Column("requested_weight", sa.Float(), nullable=True),
        sa.Column("requested_te", sa.Float(), nullable=True),
        sa.Column("requested_unet", sa.Float(), nullable=True),
        sa.Column("schedule", sa.Text(), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("applied_te", sa.Float(), nullable=True),
        sa.Column("applied_unet", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["generation_id"], ["generations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["lora_id"], ["loras.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("generation_id", "position"),
    )
    op.create_index("ix_generation_loras_prompt_name", "generation_loras", ["prompt_name"])
    op.create_index("ix_generation_loras_lora_id", "generation_loras", ["lora_id"])


def downgrade() -> None:
    op.drop_table("generation_loras")
    op.drop_table("generations")
