"""Rollups of recorded usage, updated in the same transaction as the events.

The analytics dashboard reads these instead of scanning every event: its
all-time queries touch at most one row per LoRA, pair or quarter hour.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .models import UsageLoraFamily, UsageLoraTotal, UsageLoraWeight, UsagePair, UsageSlot

TOT = UsageLoraTotal.__table__
WEI = UsageLoraWeight.__table__
FAM = UsageLoraFamily.__table__
PAIR = UsagePair.__table__
SLOT = UsageSlot.__table__
COUNTERS = ("requests", "uses", "done", "interrupted", "failed", "not_found", "not_applied", "sum_ms", "timed")


def quarter(moment: datetime) -> datetime:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.replace(minute=moment.minute // 15 * 15, second=0, microsecond=0)


def weight_key(value: float | None) -> str | None:
    return None if value is None else f"{round(float(value), 1):g}"


def aggregate(generations: list[dict[str, Any]], loras: list[dict[str, Any]]) -> dict[str, dict]:
    """Fold generation rows and their LoRA rows into rollup deltas."""
    by_gen = {g["id"]: g for g in generations}
    totals: dict[str, dict[str, Any]] = {}
    weights: dict[tuple, int] = {}
    families: dict[tuple, int] = {}
    pairs: dict[tuple, int] = {}
    slots: dict[tuple, list[int]] = {}
    applied_by_gen: dict[int, list[str]] = {}
    for g in generations:
        done_ms = g["duration_ms"] if g["outcome"] == "done" and g["duration_ms"] is not None else None
        key = (quarter(g["started_at"]), g["outcome"], g.get("checkpoint_family") or "")
        acc = slots.setdefault(key, [0, 0, 0])
        acc[0] += 1
        if done_ms is not None:
            acc[1] += done_ms
            acc[2] += 1
    for row in loras:
        g = by_gen[row["generation_id"]]
        t = totals.setdefault(row["prompt_name"], {c: 0 for c in COUNTERS} | {"lora_id": None, "first_used": None, "last_used": None})
        if row["lora_id"] is not None:
            t["lora_id"] = row["lora_id"]
        t["requests"] += 1
        t[g["outcome"]] += 1
        if row["status"] in ("not_found", "not_applied"):
            t[row["status"]] += 1
        when = g["started_at"]
        t["first_used"] = when if t["first_used"] is None or when < t["first_used"] else t["first_used"]
        t["last_used"] = when if t["last_used"] is None or when > t["last_used"] else t["last_used"]
        if row["status"] == "applied":
            t["uses"] += 1
            if g["outcome"] == "done" and g["duration_ms"] is not None:
                t["sum_ms"] += g["duration_ms"]
                t["timed"] += 1
            w = weight_key(row["applied_unet"] if row["applied_unet"] is not None else row["requested_weight"])
            if w is not None:
                weights[(row["prompt_name"], w)] = weights.get((row["prompt_name"], w), 0) + 1
            fam = g.get("checkpoint_family") or "unknown"
            families[(row["prompt_name"], fam)] = families.get((row["prompt_name"], fam), 0) + 1
            applied_by_gen.setdefault(g["id"], []).append(row["prompt_name"])
    for names in applied_by_gen.values():
        names = sorted(set(names))
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                pairs[(a, b)] = pairs.get((a, b), 0) + 1
    return {"totals": totals, "weights": weights, "families": families, "pairs": pairs, "slots": slots}


def apply(conn, dialect: str, deltas: dict[str, dict]) -> None:
    """Upsert the deltas (add counters; widen first/last use)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
        from sqlalchemy import func

        least, greatest = func.least, func.greatest
    else:
        from sqlalchemy.dialects.sqlite import insert
        from sqlalchemy import func

        least, greatest = func.min, func.max
    if deltas["totals"]:
        stmt = insert(TOT)
        ex = stmt.excluded
        stmt = stmt.on_conflict_do_update(index_elements=["prompt_name"], set_={
            **{c: TOT.c[c] + ex[c] for c in COUNTERS},
            "lora_id": func.coalesce(ex.lora_id, TOT.c.lora_id),
            "first_used": least(func.coalesce(TOT.c.first_used, ex.first_used), ex.first_used),
            "last_used": greatest(func.coalesce(TOT.c.last_used, ex.last_used), ex.last_used),
        })
        conn.execute(stmt, [{"prompt_name": k, **v} for k, v in deltas["totals"].items()])
    for table, key_cols, rows in (
        (WEI, ["prompt_name", "weight"], deltas["weights"]),
        (FAM, ["prompt_name", "family"], deltas["families"]),
        (PAIR, ["a", "b"], deltas["pairs"]),
    ):
        if rows:
            stmt = insert(table)
            stmt = stmt.on_conflict_do_update(index_elements=key_cols, set_={"n": table.c.n + stmt.excluded.n})
            conn.execute(stmt, [dict(zip(key_cols, k)) | {"n": n} for k, n in rows.items()])
    if deltas["slots"]:
        stmt = insert(SLOT)
        ex = stmt.excluded
        stmt = stmt.on_conflict_do_update(index_elements=["slot", "outcome", "family"], set_={
            "n": SLOT.c.n + ex.n, "sum_ms": SLOT.c.sum_ms + ex.sum_ms, "timed": SLOT.c.timed + ex.timed})
        conn.execute(stmt, [{"slot": s, "outcome": o, "family": f, "n": a[0], "sum_ms": a[1], "timed": a[2]}
                            for (s, o, f), a in deltas["slots"].items()])
