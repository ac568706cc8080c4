"""Selecting and building LoRA entries from rows, field by field (the record: catalog/entry.py).

A list that asks for a few fields (`fields=name,prompt_name,base_model,triggers`)
selects and builds only those. Rows are SQLAlchemy rows (attribute access) of
`loras` columns plus the user's columns labelled `u_*`. With `raw=True` the JSON
columns that are passed through as they are come back as their stored text and
are wrapped in `orjson.Fragment`: a list of 100k entries is then never decoded
and encoded again.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from collections.abc import Callable, Iterable

import orjson
from sqlalchemy import Text, select, type_coerce

from ..catalog.entry import ALL_FIELDS, DETAIL_FIELDS, FIELDS, LIST_FIELDS, RAW_FIELDS, parse_fields
from .base import H, L, U
from .hash_models import HASH_COLUMNS
from .models import UsageLoraTotal

__all__ = ["ALL_FIELDS", "DETAIL_FIELDS", "FIELDS", "LIST_FIELDS", "RAW_FIELDS", "build", "columns_for", "parse_fields"]

UT = UsageLoraTotal.__table__


def _of_lora(col):
    """`col` of the row its table keeps for the listed LoRA (by `lora_id`): one indexed look-up for each row a
    query returns, none for the rows a deep offset skips (which a join would make)."""
    return lambda: select(col).where(col.table.c.lora_id == L.c.id).limit(1).scalar_subquery()


# Usage figures from the recorder's rollup.
COMPUTED = {"x_uses": _of_lora(UT.c.uses), "x_last_used": _of_lora(UT.c.last_used)}
USER_LABELS = {f"u_{c.name}": c for c in U.c if c.name != "lora_id"}
# A LoRA's hashes, from its row of `lora_hashes` (storage/hash_models.py).
HASHES = {name: _of_lora(H.c[name]) for name in HASH_COLUMNS}
# JSON columns whose value a raw field passes through untouched (so raw text will do).
RAW_COLUMNS = frozenset(c for name in RAW_FIELDS for c in FIELDS[name].columns)


def columns_for(fields: tuple[str, ...], raw: bool = False):
    """The select columns that `fields` need (loras columns, labelled user columns), and whether tags are needed."""
    needed: set[str] = {"id"}
    for f in fields:
        needed.update(FIELDS[f].columns)
    cols = [type_coerce(c, Text).label(c.name) if raw and c.name in RAW_COLUMNS else c for c in L.c if c.name in needed]
    cols += [make().label(name) for name, make in HASHES.items() if name in needed]
    for label, col in USER_LABELS.items():
        if label in needed:
            cols.append(type_coerce(col, Text).label(label) if raw and label in RAW_COLUMNS else col.label(label))
    cols += [make().label(name) for name, make in COMPUTED.items() if name in needed]
    return cols, "tags" in needed


@lru_cache(maxsize=64)
def _getters(fields: tuple[str, ...]) -> tuple[tuple[tuple[str, Callable[[Any], Any]], ...], tuple[str, ...]]:
    """(field, builder) pairs, and which of the fields may come as raw JSON text."""
    return tuple((f, FIELDS[f].build) for f in fields), tuple(f for f in fields if f in RAW_FIELDS)


def build(row, fields: tuple[str, ...] = ALL_FIELDS, tags: Iterable[str] | None = None,
          raw: bool = False) -> dict[str, Any]:
    getters, raw_fields = _getters(fields)
    out = {f: get(row) for f, get in getters}
    if "tags" in out:
        out["tags"] = list(tags or ())
    if raw:
        for f in raw_fields:
            v = out[f]
            if v.__class__ is str:
                out[f] = orjson.Fragment(v)
    return out
