"""Moments and zones in query strings: what `since`, `until` and `tz` accept, and how they are read.

The schema and the reader agree: ISO 8601 date and time with optional seconds, fraction and zone
(without a zone, UTC); a day past its month's end rolls over (31 April is 1 May); a number is refused
(it would be read as a Unix time). Zones are the IANA names this Python knows.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import Query

from ..errors import InvalidInput
from ..library.clock import UTC, as_utc

# An ISO 8601 date and time, as the handlers read it: seconds, fractions and the zone are optional.
ISO_DATETIME = (r"^(000[1-9]|00[1-9]\d|0[1-9]\d{2}|[1-9]\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
                r"[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)?$")


SINCE = "from this moment: ISO 8601 date and time (2026-01-31T08:00:00+01:00); without a zone, UTC"
UNTIL = "before this moment (exclusive), written as `since`"


_ISO_PARTS = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def moment(description: str) -> Any:
    return Query(None, pattern=ISO_DATETIME, max_length=40, description=description)


def zones() -> list[str]:
    import zoneinfo

    return sorted(zoneinfo.available_timezones() | {"UTC"})


def to_utc(text: str | None) -> datetime | None:
    if text is None:
        return None
    m = _ISO_PARTS.match(text)
    if m is None:
        raise InvalidInput(f"not an ISO 8601 date and time: {text[:40]!r}", {"value": text[:40]})
    y, mo, d, h, mi, sec, frac, zone = m.groups()
    tz = None
    if zone:
        sign, hh, mm = (1, 0, 0) if zone == "Z" else (1 if zone[0] == "+" else -1, int(zone[1:3]), int(zone[-2:]))
        tz = timezone(sign * timedelta(hours=hh, minutes=mm))
    start = datetime(int(y), int(mo), 1, int(h), int(mi), int(sec or 0), int((frac or "0").ljust(6, "0")), tzinfo=tz)
    try:  # days past a month's end roll over (31 April is 1 May), as the pattern in the schema allows them
        value = start + timedelta(days=int(d) - 1)
    except OverflowError:
        value = datetime.max.replace(tzinfo=tz)
    try:
        return as_utc(value)
    except OverflowError:  # 0001-01-01T00:00+00:01 is before the first moment Python can hold in UTC: the edge
        edge = datetime.min if value.year < 2 else datetime.max
        return edge.replace(tzinfo=UTC)
