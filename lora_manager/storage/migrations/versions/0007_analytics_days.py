"""usage rollups per UTC hour and day, per LoRA and day, trigger words, retention mark; backfilled

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NEW = {"hours", "days", "lora_days", "day_weights", "day_families", "day_pairs", "triggers", "day_triggers"}


def _generation_level(name: str, col: str) -> None:
    op.create_table(
        name,
        sa.Column(col, sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sum_ms", sa.BigInteger(), nullable=False),
        sa.Column("timed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(col, "outcome", "family"),
    )


def _day_counter(name: str, *keys: tuple[str, int]) -> None:
    op.create_table(
        name,
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        *[sa.Column(k, sa.String(length=n), nullable=False) for k, n in keys],
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", *[k for k, _ in keys]),
    )


def upgrade() -> None:
    _generation_level("usage_hours", "hour")
    _generation_level("usage_days", "day")
    op.create_table(
        "usage_lora_days",
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prompt_name", sa.String(length=500), nullable=False),
        sa.Column("lora_id", sa.Integer(), nullable=True),
        *[sa.Column(c, sa.Integer(), nullable=False) for c in
          ("requests", "uses", "done", "interrupted", "failed", "not_found", "not_applied")],
        sa.Column("first_used", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sum_ms", sa.BigInteger(), nullable=False),
        sa.Column("timed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "prompt_name"),
    )
    op.create_index("ix_usage_lora_days_lora", "usage_lora_days", ["lora_id", "day", "uses"])
    _day_counter("usage_lora_day_weights", ("prompt_name", 500), ("weight", 16))
    _day_counter("usage_lora_day_families", ("prompt_name", 500), ("family", 32))
    _day_counter("usage_day_pairs", ("a", 500), ("b", 500))
    _day_counter("usage_day_triggers", ("word", 200))
    op.create_table(
        "usage_triggers",
        sa.Column("word", sa.String(length=200), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("word"),
    )
    op.create_index("ix_usage_triggers_n", "usage_triggers", ["n"])
    op.create_table(
        "usage_retention",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("raw_since", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    # never-used figures: counted from the LoRAs' side, index only
    op.create_index("ix_loras_state_size", "loras", ["state", "size"])
    op.drop_index("ix_usage_lora_totals_lora_id", table_name="usage_lora_totals")
    op.create_index("ix_usage_lora_totals_lora_uses", "usage_lora_totals", ["lora_id", "uses"])
    _backfill()
    if op.get_bind().dialect.name == "postgresql":
        # Freshly filled tables have no planner statistics until autovacuum comes round: a ranged
        # dashboard over 1M events took 2.5 s without them, 0.56 s with (bench/bench_analytics.py).
        op.execute("ANALYZE")


def _backfill() -> None:
    """Fold the events recorded so far into the new rollups, in chunks (no event was compacted yet)."""
    from lora_manager.storage import rollups
    from lora_manager.usage.rollup_fold import aggregate
    from lora_manager.storage.usage_store import G, GL

    conn = op.get_bind()
    last = 0
    cols = [G.c.id, G.c.started_at, G.c.outcome, G.c.duration_ms, G.c.checkpoint_family, G.c.prompt]
    while True:
        gens = [
            dict(r._mapping) for r in conn.execute(sa.select(*cols).where(G.c.id > last).order_by(G.c.id).limit(20000))
        ]
        if not gens:
            return
        loras = [dict(r._mapping) for r in conn.execute(
            sa.select(GL.c.generation_id, GL.c.prompt_name, GL.c.lora_id, GL.c.status, GL.c.applied_unet,
                      GL.c.requested_weight)
            .where(GL.c.generation_id > last, GL.c.generation_id <= gens[-1]["id"]))]
        words = rollups.trigger_words(conn, {r["lora_id"] for r in loras if r["status"] == "applied"})
        rollups.apply(conn, conn.dialect.name, aggregate(gens, loras, words), only=NEW)
        last = gens[-1]["id"]


def downgrade() -> None:
    op.drop_index("ix_usage_lora_totals_lora_uses", table_name="usage_lora_totals")
    op.create_index("ix_usage_lora_totals_lora_id", "usage_lora_totals", ["lora_id"])
    op.drop_index("ix_loras_state_size", table_name="loras")
    for table in ("usage_retention", "usage_triggers", "usage_day_triggers", "usage_day_pairs",
                  "usage_lora_day_families", "usage_lora_day_weights", "usage_lora_days", "usage_days", "usage_hours"):
        op.drop_table(table)
