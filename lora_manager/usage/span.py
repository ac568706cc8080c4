"""What a time range reads: whole UTC days from the rollups, raw events for the partial days at its ends.

Pure helpers for `analytics.Analytics`; the SQL is in `storage/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..library.clock import as_utc
from .rollup_fold import COUNTERS
from .timeparts import floor_to

DAY = 86400


@dataclass
class Span:
    """[start, end): the range asked (clipped to the data); [days_from, days_to): its whole UTC days."""

    start: datetime | None
    end: datetime | None
    days_from: datetime | None = None
    days_to: datetime | None = None
    edges: list[tuple[datetime, datetime]] = field(default_factory=list)
    exact: bool = True  # False when an end fell inside compacted history and was widened to a UTC day
    raw_since: datetime | None = None  # raw events before this were compacted away

    @property
    def empty(self) -> bool:
        return self.start is None or self.start >= self.end

    @property
    def has_days(self) -> bool:
        return self.days_from is not None and self.days_from < self.days_to


def _ceil_day(moment: datetime) -> datetime:
    low = floor_to(moment, DAY)
    return low if low == moment else low + timedelta(days=1)


def make_span(since, until, first: datetime | None, last: datetime | None, raw_since: datetime | None) -> Span:
    if first is None:
        return Span(None, None, raw_since=raw_since)
    # clipped to the recorded days: nothing lies outside, and a range to the year 9999 stays cheap
    start = max(as_utc(since), floor_to(first, DAY)) if since is not None else floor_to(first, DAY)
    end = _ceil_day(last + timedelta(minutes=15))
    end = min(as_utc(until), end) if until is not None else end
    exact = True
    # raw events before raw_since are gone: an end inside that history widens to its UTC day
    if raw_since is not None:
        if start < raw_since and start != floor_to(start, DAY):
            start, exact = floor_to(start, DAY), False
        if floor_to(end, DAY) < raw_since and end != floor_to(end, DAY):
            end, exact = _ceil_day(end), False
    span = Span(start, end, exact=exact, raw_since=raw_since)
    if span.empty:
        return span
    a, b = _ceil_day(start), floor_to(end, DAY)
    if a >= b:
        span.edges = [(start, end)]
        return span
    span.days_from, span.days_to = a, b
    span.edges = [(x, y) for x, y in ((start, a), (b, end)) if x < y]
    return span


def merge_totals(into: dict[str, dict[str, Any]], more: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Add per-LoRA counters (keyed by prompt name); first/last use widen."""
    for name, row in more.items():
        have = into.get(name)
        if have is None:
            into[name] = dict(row)
            continue
        for k in COUNTERS:
            have[k] += row[k]
        have["lora_id"] = row["lora_id"] if row["lora_id"] is not None else have["lora_id"]
        for k, pick in (("first_used", min), ("last_used", max)):
            vals = [v for v in (have[k], row[k]) if v is not None]
            have[k] = pick(vals) if vals else None
    return into


def add_counts(into: dict[tuple, int], more: dict[tuple, int]) -> dict[tuple, int]:
    for k, n in more.items():
        into[k] = into.get(k, 0) + n
    return into


def top(counts: dict[tuple, int], limit: int) -> list[tuple[tuple, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
