"""Time ranges cut into the units the rollups keep (UTC days, hours, quarter hours).

Pure functions, no SQL. A local bucket (a day in Kolkata, a week in New York)
is a UTC interval whose ends fall on quarter hours; `cover` writes it as a
signed sum of whole units, using the coarsest unit that saves reads (a UTC day
minus its last hour is cheaper than 23 hours).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ..library.clock import UTC, as_utc

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

UNITS = (("day", 86400), ("hour", 3600), ("slot", 900))


def floor_to(moment: datetime, seconds: int) -> datetime:
    """The start of the UTC unit (quarter hour, hour, day) holding `moment`."""
    whole = (as_utc(moment) - EPOCH) // timedelta(seconds=seconds)
    return EPOCH + timedelta(seconds=whole * seconds)


def _ceil(moment: datetime, seconds: int) -> datetime:
    low = floor_to(moment, seconds)
    return low if low == moment else low + timedelta(seconds=seconds)


def cover(start: datetime, end: datetime, sign: int = 1, level: int = 0) -> list[tuple[str, datetime, int]]:
    """[(unit, unit start, sign)] whose signed sum is exactly [start, end); both ends on quarter hours."""
    if start >= end:
        return []
    if level == len(UNITS):
        raise ValueError(f"{start} .. {end} is not on quarter hours")
    name, seconds = UNITS[level]
    size = timedelta(seconds=seconds)
    low, high = _ceil(start, seconds), floor_to(end, seconds)
    if low > high:  # inside one unit: the finer cover, or the unit minus what is outside
        unit = floor_to(start, seconds)
        inner = cover(start, end, sign, level + 1)
        outer = [(name, unit, sign)] + cover(unit, start, -sign, level + 1) + cover(end, unit + size, -sign, level + 1)
        return inner if len(inner) <= len(outer) else outer
    parts = []
    t = low
    while t < high:
        parts.append((name, t, sign))
        t += size
    for a, b in ((start, low), (high, end)):  # each edge: finer units, or a whole unit minus the rest
        if a == b:
            continue
        unit = floor_to(a, seconds)
        inner = cover(a, b, sign, level + 1)
        rest = cover(unit, a, -sign, level + 1) if a != unit else cover(b, unit + size, -sign, level + 1)
        outer = [(name, unit, sign)] + rest
        parts += inner if len(inner) <= len(outer) else outer
    return parts


def bucket_start(day: date, bucket: str) -> date:
    if bucket == "week":  # ISO weeks start on Monday
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def next_bucket(day: date, bucket: str) -> date:
    if bucket == "week":
        return day + timedelta(days=7)
    if bucket == "month":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1)


def local_midnight(day: date, tz) -> datetime:
    """The first instant of `day` in `tz`, in UTC (a midnight lost to DST starts when the day does)."""
    return as_utc(datetime(day.year, day.month, day.day, tzinfo=tz))


def buckets(start: datetime, end: datetime, tz, bucket: str) -> list[tuple[str, datetime, datetime]]:
    """(label, UTC start, UTC end) of each local bucket meeting [start, end), clipped to it."""
    out = []
    day = bucket_start(start.astimezone(tz).date(), bucket)
    while True:
        a, nxt = local_midnight(day, tz), next_bucket(day, bucket)
        b = local_midnight(nxt, tz)
        if a >= end:
            return out
        if b > start:
            out.append((day.isoformat() if bucket != "month" else day.isoformat()[:7], max(a, start), min(b, end)))
        day = nxt
