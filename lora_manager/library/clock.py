"""Moments: made, normalised to UTC, read back from the database and written out, in one place.

Every layer may import this (library is the bottom layer). Moments are stored in UTC; a naive
one means UTC (SQLite hands them back naive, or as text for a coerced column). The API and the
command line write every moment one way: ISO 8601 to the second, in UTC, with its offset
("2026-01-31T08:00:00+00:00"), which a browser's Date reads as UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

UTC = timezone.utc


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive moment is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_utc(value: datetime | str | None) -> datetime | None:
    """A moment as the database hands it back (a datetime, or ISO text from SQLite), in UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


def iso(value: Any) -> Any:
    """The written form of a moment (see above); any other value (None, a number) as it is."""
    return as_utc(value).isoformat(timespec="seconds") if isinstance(value, datetime) else value


def iso_from_unix(seconds: float) -> str:
    return iso(datetime.fromtimestamp(seconds, UTC))
