"""Rollups of recorded usage, updated in the same transaction as the events.

The analytics dashboard reads these instead of scanning every event. All-time
tables hold one row per LoRA, weight, family, pair or trigger word; the
generation counts exist per UTC quarter hour, hour and day (a timeline in any
time zone reads the coarsest that fits); per-day tables let a range add up
whole UTC days, with raw events only for the partial days at its edges.
Because every figure is here, raw events older than the retention setting can
be deleted without changing any figure (see `UsageStore.compact_usage`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..library.clock import as_utc
from ..usage.timeparts import floor_to
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
COUNTERS = ("requests", "uses", "done", "interrupted", "failed", "not_found", "not_applied", "sum_ms", "timed")

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
def quarter(moment: datetime) -> datetime:
    return floor_to(moment, 900)


def weight_key(value: float | None) -> str | None:
    return None if value is None else f"{round(float(value), 1):g}"


def _word_at(text: str, word: str) -> bool:
    """`word` occurs in `text` with no letter, digit or _ right before or after it."""
    i = text.find(word)
    while i >= 0:
        j = i + len(word)
        if (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")) and \
                (j == len(text) or not (text[j].isalnum() or text[j] == "_")):
            return True
        i = text.find(word, i + 1)
    return False


def trigger_hits(prompt: str | None, words: list[str]) -> set[str]:
    """The trigger words (lower case) found in `prompt` as whole words or phrases."""
    if not prompt or not words:
        return set()
    text = prompt.lower()
    hits = set()
    for word in words:
        w = word.strip().lower()[:200]
        if w and _word_at(text, w):
            hits.add(w)
    return hits


def _new_total() -> dict[str, Any]:
    return {c: 0 for c in COUNTERS} | {"lora_id": None, "first_used": None, "last_used": None}


def _fold_total(t: dict[str, Any], row: dict[str, Any], g: dict[str, Any]) -> None:
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


def _bump(acc: dict, key: tuple, n: int = 1) -> None:
    acc[key] = acc.get(key, 0) + n


def aggregate(generations: list[dict[str, Any]], loras: list[dict[str, Any]],
              triggers: dict[int, list[str]] | None = None) -> dict[str, dict]:
    """Fold generation rows and their LoRA rows into rollup deltas.

    `triggers` maps a LoRA id to its trigger words; those found in the prompt
    of a generation that applied the LoRA are counted once per generation.
    """
    triggers = triggers or {}
    by_gen = {g["id"]: g for g in generations}
    out: dict[str, dict] = {k: {} for k in ("totals", "lora_days", "slots", "hours", "days")}
    out.update({k: {} for k, _t, _c in COUNTED})
    applied_by_gen: dict[int, list[str]] = {}
    words_by_gen: dict[int, set[str]] = {}
    day_of: dict[int, datetime] = {}
    for g in generations:
        start = as_utc(g["started_at"])
        day_of[g["id"]] = floor_to(start, 86400)
        done = g["outcome"] == "done" and g["duration_ms"] is not None
        fam = g.get("checkpoint_family") or ""
        for level, seconds in (("slots", 900), ("hours", 3600), ("days", 86400)):
            acc = out[level].setdefault((floor_to(start, seconds), g["outcome"], fam), [0, 0, 0])
            acc[0] += 1
            if done:
                acc[1] += g["duration_ms"]
                acc[2] += 1
    for row in loras:
        g = by_gen[row["generation_id"]]
        name, day = row["prompt_name"], day_of[g["id"]]
        _fold_total(out["totals"].setdefault(name, _new_total()), row, g)
        _fold_total(out["lora_days"].setdefault((day, name), _new_total()), row, g)
        if row["status"] != "applied":
            continue
        w = weight_key(row["applied_unet"] if row["applied_unet"] is not None else row["requested_weight"])
        if w is not None:
            _bump(out["weights"], (name, w))
            _bump(out["day_weights"], (day, name, w))
        fam = g.get("checkpoint_family") or "unknown"
        _bump(out["families"], (name, fam))
        _bump(out["day_families"], (day, name, fam))
        applied_by_gen.setdefault(g["id"], []).append(name)
        if row["lora_id"] in triggers:
            words_by_gen.setdefault(g["id"], set()).update(trigger_hits(g.get("prompt"), triggers[row["lora_id"]]))
    for gid, names in applied_by_gen.items():
        names = sorted(set(names))
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                _bump(out["pairs"], (a, b))
                _bump(out["day_pairs"], (day_of[gid], a, b))
    for gid, words in words_by_gen.items():
        for w in words:
            _bump(out["triggers"], (w,))
            _bump(out["day_triggers"], (day_of[gid], w))
    return out


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
        q = select(L.c.id, L.c.triggers, U.c.triggers).select_from(L.outerjoin(U, U.c.lora_id == L.c.id)).where(L.c.id.in_(part))
        for lid, extracted, edited in conn.execute(q):
            words = edited if edited is not None else extracted
            if isinstance(words, str):
                words = json.loads(words)
            if words:
                out[lid] = [w for w in words if isinstance(w, str)]
    return out
