"""Rollup folding: generation rows and their LoRA rows -> the deltas the rollup tables add up.

Pure functions over dicts, no SQL: the recorder's writes, the ranged reads (raw edge days) and the
migrations that backfill fold with this one code, so every figure is counted one way. The tables
and the upserts are in `storage/rollups.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..library.clock import as_utc
from .timeparts import floor_to

# per-LoRA counters (all time and per UTC day)
COUNTERS = ("requests", "uses", "done", "interrupted", "failed", "not_found", "not_applied", "sum_ms", "timed")
# plain counters: the delta keys besides totals, lora_days and the generation counts per unit
COUNTED_KEYS = ("weights", "families", "pairs", "triggers", "day_weights", "day_families", "day_pairs", "day_triggers")


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
    out.update({k: {} for k in COUNTED_KEYS})
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
