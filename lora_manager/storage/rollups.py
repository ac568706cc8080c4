"""Rollups of recorded usage, updated in the same transaction as the events.

The analytics dashboard reads these instead of scanning every event. All-time
tables hold one row per LoRA, weight, family, pair or trigger word; the
generation counts exist per UTC quarter hour, hour and day (a timeline in any
time zone reads the coarsest that fits); per-day tables let a range add up
whole UTC days, with raw events only for the partial days at its edges.
Because every figure is here, raw events older than the retention setting can
be deleted without changing any figure (see `RangeStore.compact_usage`).
Here: the tables and the SQL that writes deltas; the deltas are folded by
`usage/rollup_fold.py`.
"""

from __future__ import annotations

from ..usage.rollup_fold import COUNTED_KEYS, COUNTERS
from .models import (UsageDay, UsageDayPair, UsageDayTrigger, UsageHour, UsageLoraDay, UsageLoraDayFamily,
                     UsageLoraDayWeight, UsageLoraFamily, UsageLoraTotal, UsageLoraWeight, UsagePair, UsageSlot,
                     UsageTrigger)

TOT = UsageLoraTotal.__table__
WEI = UsageLoraWeight.__table__
FAM = UsageLoraFamily.__table__
PAIR = UsagePair.__table__
SLOT = UsageSlot.__table__
HOUR = UsageHour.__table__
DAY = UsageDay.__table__
LDAY = UsageLoraDay.__table__
DWEI = UsageLoraDayWeight.__table__
DFAM = UsageLoraDayFamily.__table__
DPAIR = UsageDayPair.__table__
TRIG = UsageTrigger.__table__
DTRIG = UsageDayTrigger.__table__

# generation counts per time unit: (table, time column, seconds per unit)
LEVELS = {"slot": (SLOT, "slot", 900), "hour": (HOUR, "hour", 3600), "day": (DAY, "day", 86400)}
# plain counters: (delta key, table, key columns)
COUNTED = (
    ("weights", WEI, ["prompt_name", "weight"]),
    ("families", FAM, ["prompt_name", "family"]),
    ("pairs", PAIR, ["a", "b"]),
    ("triggers", TRIG, ["word"]),
    ("day_weights", DWEI, ["day", "prompt_name", "weight"]),
    ("day_families", DFAM, ["day", "prompt_name", "family"]),
    ("day_pairs", DPAIR, ["day", "a", "b"]),
    ("day_triggers", DTRIG, ["day", "word"]),
)
assert tuple(k for k, _t, _c in COUNTED) == COUNTED_KEYS  # the fold's delta keys, each with its table


def _insert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def apply(conn, dialect: str, deltas: dict[str, dict], only: set[str] | None = None) -> None:
    """Upsert the deltas (add counters; widen first/last use). `only`: the delta keys to write."""
    from sqlalchemy import func

    insert = _insert(dialect)
    least, greatest = (func.least, func.greatest) if dialect == "postgresql" else (func.min, func.max)
    def want(key):
        return (only is None or key in only)
    for key, table, key_cols in (("totals", TOT, ["prompt_name"]), ("lora_days", LDAY, ["day", "prompt_name"])):
        if deltas.get(key) and want(key):
            stmt = insert(table)
            ex = stmt.excluded
            stmt = stmt.on_conflict_do_update(index_elements=key_cols, set_={
                **{c: table.c[c] + ex[c] for c in COUNTERS},
                "lora_id": func.coalesce(ex.lora_id, table.c.lora_id),
                "first_used": least(func.coalesce(table.c.first_used, ex.first_used), ex.first_used),
                "last_used": greatest(func.coalesce(table.c.last_used, ex.last_used), ex.last_used),
            })
            # rows in key order: concurrent writers (several instances on one PostgreSQL) lock in one order
            rows = sorted(deltas[key].items(), key=lambda kv: kv[0])
            conn.execute(stmt, [dict(zip(key_cols, (k,) if key == "totals" else k, strict=False)) | v for k, v in rows])
    for key, table, key_cols in COUNTED:
        rows = deltas.get(key)
        if rows and want(key):
            stmt = insert(table)
            stmt = stmt.on_conflict_do_update(index_elements=key_cols, set_={"n": table.c.n + stmt.excluded.n})
            conn.execute(stmt, [dict(zip(key_cols, k, strict=False)) | {"n": n} for k, n in sorted(rows.items())])
    for key, (table, col, _s) in (("slots", LEVELS["slot"]), ("hours", LEVELS["hour"]), ("days", LEVELS["day"])):
        if deltas.get(key) and want(key):
            stmt = insert(table)
            ex = stmt.excluded
            stmt = stmt.on_conflict_do_update(index_elements=[col, "outcome", "family"], set_={
                "n": table.c.n + ex.n, "sum_ms": table.c.sum_ms + ex.sum_ms, "timed": table.c.timed + ex.timed})
            conn.execute(stmt, [{col: s, "outcome": o, "family": f, "n": a[0], "sum_ms": a[1], "timed": a[2]}
                                for (s, o, f), a in sorted(deltas[key].items())])


def trigger_words(conn, ids) -> dict[int, list[str]]:
    """The trigger words in effect per LoRA id: the user's list when edited, else the extracted one."""
    import json

    from sqlalchemy import select

    from .base import L, U, chunks

    out: dict[int, list[str]] = {}
    for part in chunks(sorted({i for i in ids if i is not None})):
        q = (
            select(L.c.id, L.c.triggers, U.c.triggers)
            .select_from(L.outerjoin(U, U.c.lora_id == L.c.id))
            .where(L.c.id.in_(part))
        )
        for lid, extracted, edited in conn.execute(q):
            words = edited if edited is not None else extracted
            if isinstance(words, str):
                words = json.loads(words)
            if words:
                out[lid] = [w for w in words if isinstance(w, str)]
    return out
