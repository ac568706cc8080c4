"""Civitai update checks (each model's versions, each LoRA's newer count) and the download queue

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "civitai_update_models",
        sa.Column("model_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("versions", sa.Text(), nullable=False),
        sa.Column("etag", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("model_id"),
    )
    op.create_table(
        "civitai_lora_updates",
        sa.Column("lora_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.BigInteger(), nullable=True),
        sa.Column("newest_version_id", sa.BigInteger(), nullable=True),
        sa.Column("newer", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lora_id"], ["loras.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("lora_id"),
    )
    op.create_index("ix_civitai_lora_updates_model_id", "civitai_lora_updates", ["model_id"])
    op.create_table(
        "civitai_downloads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("model_id", sa.BigInteger(), nullable=True),
        sa.Column("version_id", sa.BigInteger(), nullable=True),
        sa.Column("model_name", sa.Text(), nullable=True),
        sa.Column("version_name", sa.Text(), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("done_bytes", sa.BigInteger(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=True),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("update_of", sa.Integer(), nullable=True),
        sa.Column("replace", sa.Boolean(), nullable=False),
        sa.Column("carry_user_data", sa.Boolean(), nullable=False),
        sa.Column("lora_id", sa.Integer(), nullable=True),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_civitai_downloads_state", "civitai_downloads", ["state"])
    op.create_index("ix_civitai_downloads_created_at", "civitai_downloads", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_civitai_downloads_created_at", table_name="civitai_downloads")
    op.drop_index("ix_civitai_downloads_state", table_name="civitai_downloads")
    op.drop_table("civitai_downloads")
    op.drop_index("ix_civitai_lora_updates_model_id", table_name="civitai_lora_updates")
    op.drop_table("civitai_lora_updates")
    op.drop_table("civitai_update_models")
