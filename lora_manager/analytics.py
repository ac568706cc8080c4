"""Usage analytics: what you really use, with what, and how it went.

Every figure comes from generations recorded by this extension. Time buckets
are computed in the caller's time zone from UTC quarter hours, so zones with
half- and quarter-hour offsets bucket correctly too.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidInput

BUCKETS = ("day", "week", "month")
SORTS = {"uses": "uses", "last_used": "last_used", "name": "prompt_name"}


def zone(name: str | None):
    if not name or name.upper() == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name[:60]!r}; use an IANA name such as Europe/Berlin") from None


def bucket_key(moment: datetime, tz, bucket: str) -> str:
    local = moment.astimezone(tz)
    if bucket == "day":
        return local.date().isoformat()
    if bucket == "week":  # ISO weeks start on Monday
        return (local.date() - timedelta(days=local.weekday())).isoformat()
    return f"{local.year:04d}-{local.month:02d}"


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    return value


def _cell(value: Any) -> Any:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with '."""
    value = _iso(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class Analytics:
    def __init__(self, repo):
        self.repo = repo

    def summary(self, since=None, until=None, tz_name: str | None = None, bucket: str = "day", top: int = 10) -> dict[str, Any]:
        if bucket not in BUCKETS:
            raise InvalidInput(f"bucket must be one of {', '.join(BUCKETS)}")
        tz = zone(tz_name)
        timeline: dict[str, dict[str, int]] = {}
        offsets: dict[datetime, timedelta] = {}  # per UTC hour: zones change offset only on the hour
        keys: dict[datetime, str] = {}
        for slot, outcome, n in self.repo.quarter_hour_counts(since, until):
            key = keys.get(slot)
            if key is None:
                hour = slot.replace(minute=0)
                offset = offsets.get(hour)
                if offset is None:
                    offset = offsets[hour] = hour.astimezone(tz).utcoffset() or timedelta(0)
                key = keys[slot] = bucket_key((slot + offset).replace(tzinfo=timezone.utc), timezone.utc, bucket)
            row = timeline.setdefault(key, {"generations": 0, "done": 0, "interrupted": 0, "failed": 0})
            row["generations"] += n
            row[outcome] = row.get(outcome, 0) + n
        totals = self.repo.generation_totals(since, until)
        if since is None and until is None:  # all time: the rollups answer, paged in SQL
            most = self.repo.rollup_loras("uses", True, top, 0, used_only=True)[1]
            least = self.repo.rollup_loras("uses", False, top, 0, used_only=True)[1]
            never = self.repo.never_used_rollup(limit=top)
        else:
            per_lora = [r for r in self.repo.lora_usage(since, until) if r["uses"]]
            per_lora.sort(key=lambda r: (-r["uses"], r["prompt_name"]))
            most = per_lora[:top]
            least = sorted(per_lora, key=lambda r: (r["uses"], r["prompt_name"]))[:top]
            never = self.repo.never_used({r["lora_id"] for r in per_lora if r["lora_id"] is not None}, limit=top)
        return {
            "range": {"since": _iso(since), "until": _iso(until), "time_zone": tz_name or "UTC", "bucket": bucket},
            "totals": totals,
            "timeline": [{"bucket": k, **v} for k, v in sorted(timeline.items())],
            "most_used": [self._brief(r) for r in most],
            "least_used": [self._brief(r) for r in least],
            "never_used": never,
            "co_usage": self.repo.co_usage(since, until, limit=top * 2),
        }

    @staticmethod
    def _brief(r: dict[str, Any]) -> dict[str, Any]:
        return {"id": r["lora_id"], "prompt_name": r["prompt_name"], "uses": int(r["uses"]), "last_used": _iso(r["last_used"])}

    def loras(self, since=None, until=None, sort: str = "uses", limit: int = 100, offset: int = 0) -> dict[str, Any]:
        key = sort.lstrip("-")
        if key not in SORTS:
            raise InvalidInput(f"sort must be one of {', '.join(SORTS)} (prefix - for ascending)")
        if not 1 <= limit <= 10_000 or offset < 0:
            raise InvalidInput("limit must be 1..10000 and offset >= 0")
        field = SORTS[key]
        flipped = sort.startswith("-")
        descending = flipped if key == "name" else not flipped  # names A-Z, counts and dates newest first
        totals = self.repo.generation_totals(since, until)
        paged = since is None and until is None
        if paged:  # all time: sort and page in SQL over the rollups, then detail only the page
            total, rows = self.repo.rollup_loras(key, descending, limit, offset)
            weights, families = self.repo.rollup_weights_families([r["prompt_name"] for r in rows])
        else:
            rows = self.repo.lora_usage(since, until)
            weights, families = self.repo.weights_and_families(since, until)
            total = len(rows)
        # keyed by prompt name: the rollups keep one row per name
        w_by: dict[str, dict[str, int]] = {}
        for _lid, name, w, n in weights:
            if w is not None:
                bucket = w_by.setdefault(name, {})
                label = f"{float(w):g}"
                bucket[label] = bucket.get(label, 0) + int(n)
        f_by: dict[str, dict[str, int]] = {}
        for _lid, name, fam, n in families:
            bucket = f_by.setdefault(name, {})
            bucket[fam or "unknown"] = bucket.get(fam or "unknown", 0) + int(n)
        all_ms, all_n = totals["mean_done_ms"], totals["timed"]
        items = []
        for r in rows:
            mean_with = float(r["mean_ms"]) if r["mean_ms"] is not None else None
            n_with = int(r["timed"] or 0)
            without = None
            if all_ms is not None and mean_with is not None and all_n > n_with:
                without = (all_ms * all_n - mean_with * n_with) / (all_n - n_with)
            items.append({
                "id": r["lora_id"], "prompt_name": r["prompt_name"], "uses": int(r["uses"] or 0),
                "requests": int(r["requests"]), "first_used": _iso(r["first_used"]), "last_used": _iso(r["last_used"]),
                "outcomes": {k: int(r[k] or 0) for k in ("done", "interrupted", "failed", "not_found")},
                "weights": w_by.get(r["prompt_name"], {}),
                "families": f_by.get(r["prompt_name"], {}),
                "mean_ms_with": round(mean_with, 1) if mean_with is not None else None,
                "mean_ms_without": round(without, 1) if without is not None else None,
            })
        if not paged:
            known = sorted((x for x in items if x[field] is not None), key=lambda x: x["prompt_name"])
            known.sort(key=lambda x: x[field], reverse=descending)  # stable: ties stay A-Z, as in SQL
            items = (known + [x for x in items if x[field] is None])[offset: offset + limit]
        return {"total": total, "limit": limit, "offset": offset, "items": items}

    def events_csv(self, since=None, until=None) -> Iterator[str]:
        """The raw events, one row per generation and LoRA, as CSV text chunks."""
        header = ["generation_id", "started_at", "finished_at", "duration_ms", "outcome", "source", "checkpoint",
                  "checkpoint_family", "seed", "steps", "width", "height", "sampler", "lora", "lora_id",
                  "requested_weight", "applied_te", "applied_unet", "status"]
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        for i, row in enumerate(self.repo.raw_events(since, until)):
            writer.writerow([_cell(v) for v in row])
            if i % 2000 == 1999:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()
