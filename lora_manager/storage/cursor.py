"""Opaque keyset cursors: (sort key, last value, last id), base64 of JSON."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson

from ..errors import InvalidInput


def encode_cursor(sort: str, value: Any, last_id: int) -> str:
    if isinstance(value, datetime):
        value = {"dt": value.isoformat()}
    return base64.urlsafe_b64encode(orjson.dumps([sort, value, last_id])).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, value, last_id = orjson.loads(raw)
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["dt"])
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        raise InvalidInput("the cursor is not one this server gave out") from None
    if key != sort:
        raise InvalidInput("the cursor belongs to another sort order; start again without it")
    if type(last_id) is not int or not 0 <= last_id < 2**62 or not isinstance(value, VALUE_TYPES.get(sort, ())) \
            or type(value) is bool or (isinstance(value, int) and not -(2**63) <= value < 2**63) \
            or (isinstance(value, str) and "\x00" in value):
        raise InvalidInput("the cursor is not one this server gave out")
    return value, last_id


# What each sort column holds: a cursor carrying anything else was not made here.
VALUE_TYPES = {"id": int, "name": str, "size": int, "modified": int, "added": datetime}
