"""Opaque keyset cursors: (sort key, last value, last id), base64 of JSON.

A list ranked before its sort (favourites first, search hits by match quality) carries the ranks too: its key
names them ("name+fav+rank") and its value is [rank..., value]."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson

from ..errors import InvalidInput


def _out(value: Any) -> Any:
    return {"dt": value.isoformat()} if isinstance(value, datetime) else value


def _in(value: Any) -> Any:
    return datetime.fromisoformat(value["dt"]) if isinstance(value, dict) else value


def encode_cursor(sort: str, value: Any, last_id: int) -> str:
    value = [_out(v) for v in value] if isinstance(value, list) else _out(value)
    return base64.urlsafe_b64encode(orjson.dumps([sort, value, last_id])).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, value, last_id = orjson.loads(raw)
        value = [_in(v) for v in value] if isinstance(value, list) else _in(value)
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        raise InvalidInput("the cursor is not one this server gave out") from None
    if key != sort:
        raise InvalidInput("the cursor belongs to another sort order; start again without it")
    base, *ranks = sort.split("+")
    if ranks:
        if not isinstance(value, list) or len(value) != len(ranks) + 1 \
                or any(type(r) is not int or not 0 <= r < 10 for r in value[:-1]):
            raise InvalidInput("the cursor is not one this server gave out")
        last = value[-1]
    else:
        last = value
    if type(last_id) is not int or not 0 <= last_id < 2**62 or not isinstance(last, VALUE_TYPES.get(base, ())) \
            or type(last) is bool or (isinstance(last, int) and not -(2**63) <= last < 2**63) \
            or (isinstance(last, str) and "\x00" in last):
        raise InvalidInput("the cursor is not one this server gave out")
    return value, last_id


# What each sort column holds: a cursor carrying anything else was not made here.
VALUE_TYPES = {"id": int, "name": str, "size": int, "modified": int, "added": datetime, "uses": int,
               "last_used": datetime, "rating": int}
