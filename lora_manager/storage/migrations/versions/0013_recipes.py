"""Recipes: a prompt, its settings and a LoRA stack, saved (docs/recipes.md)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recipes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("negative_prompt", sa.Text(), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=True),
        sa.Column("checkpoint_hash", sa.String(length=64), nullable=True),
        sa.Column("base_model", sa.String(length=32), nullable=True),
        sa.Column("sampler", sa.String(length=64), nullable=True),
        sa.Column("scheduler", sa.String(length=64), nullable=True),
        sa.Column("steps", sa.Integer(), nullable=True),
        sa.Column("cfg_scale", sa.Float(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("cover", sa.String(length=80), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("search", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_recipes_created_at", "recipes", ["created_at"])
    op.create_table(
        "recipe_loras",
        sa.Column("recipe_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("te", sa.Float(), nullable=True),
        sa.Column("unet", sa.Float(), nullable=True),
        sa.Column("blocks", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("tensor_sha256", sa.String(length=64), nullable=True),
        sa.Column("civitai_model_id", sa.BigInteger(), nullable=True),
        sa.Column("civitai_version_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["recipe_id"], ["recipes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("recipe_id", "position"),
    )
    op.create_index("ix_recipe_loras_name", "recipe_loras", ["name"])
    op.create_index("ix_recipe_loras_sha256", "recipe_loras", ["sha256"])
    op.create_table(
        "recipe_tags",
        sa.Column("recipe_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["recipe_id"], ["recipes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("recipe_id", "tag"),
    )
    op.create_index("ix_recipe_tags_tag", "recipe_tags", ["tag"])


def downgrade() -> None:
    op.drop_index("ix_recipe_tags_tag", table_name="recipe_tags")
    op.drop_table("recipe_tags")
    op.drop_index("ix_recipe_loras_sha256", table_name="recipe_loras")
    op.drop_index("ix_recipe_loras_name", table_name="recipe_loras")
    op.drop_table("recipe_loras")
    op.drop_index("ix_recipes_created_at", table_name="recipes")
    op.drop_table("recipes")
