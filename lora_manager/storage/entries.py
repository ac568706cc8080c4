"""The public shape of one LoRA (the CLI's and API's JSON), field by field.

Each field names the columns it needs, so a list that asks for a few fields
(`fields=name,prompt_name,base_model,triggers`) selects and builds only those.
Rows are SQLAlchemy rows (attribute access) of `loras` columns plus the
user's columns labelled `u_*`. With `raw=True` the JSON columns that are
passed through as they are come back as their stored text and are wrapped in
`orjson.Fragment`: a list of 100k entries is then never decoded and encoded
again.
"""

from __future__ import annotations

from functools import lru_cache
from operator import attrgetter
from typing import Any
from collections.abc import Callable, Iterable

import orjson
from sqlalchemy import Text, select, type_coerce

from ..errors import InvalidInput
from ..library.clock import iso as _iso
from .base import L, U
from .models import UsageLoraTotal

UT = UsageLoraTotal.__table__
# Usage figures from the recorder's rollup (one indexed lookup per row listed).
COMPUTED = {
    "x_uses": lambda: select(UT.c.uses).where(UT.c.lora_id == L.c.id).limit(1).scalar_subquery(),
    "x_last_used": lambda: select(UT.c.last_used).where(UT.c.lora_id == L.c.id).limit(1).scalar_subquery(),
}


def _tensor(r) -> str | None:
    # Until the file is hashed, the trainer's sshs_model_hash stands in for the
    # tensor hash (and is checked against it once hashed).
    return r.tensor_sha256 or r.header_hash


def _hashed(r) -> bool:
    return r.hashed_size == r.size and r.hashed_mtime_ns == r.mtime_ns


def _user_or(r, user_key: str, suggested_key: str) -> Any:
    value = getattr(r, user_key)
    return value if value is not None else (r.suggested or {}).get(suggested_key)


HASH_COLS = ("sha256",)
T_COLS = ("tensor_sha256", "header_hash")
FIELDS: dict[str, tuple[Callable[[Any], Any], tuple[str, ...]]] = {
    "id": (attrgetter("id"), ("id",)),
    "name": (lambda r: r.file_name.rsplit(".", 1)[0], ("file_name",)),
    "prompt_name": (attrgetter("prompt_name"), ("prompt_name",)),
    "title": (attrgetter("title"), ("title",)),
    "alias": (attrgetter("alias"), ("alias",)),
    "path": (attrgetter("path"), ("path",)),
    "root": (attrgetter("root"), ("root",)),
    "folder": (attrgetter("folder"), ("folder",)),
    "file_name": (attrgetter("file_name"), ("file_name",)),
    "size": (attrgetter("size"), ("size",)),
    "mtime_ns": (attrgetter("mtime_ns"), ("mtime_ns",)),
    "state": (attrgetter("state"), ("state",)),
    "error": (attrgetter("error"), ("error",)),
    "base_model": (lambda r: r.u_base_override or r.base_family, ("base_family", "u_base_override")),
    "base_model_detected": (attrgetter("base_family"), ("base_family",)),
    "base_model_source": (lambda r: "user" if r.u_base_override else r.base_source, ("base_source", "u_base_override")),
    "base_label": (attrgetter("base_label"), ("base_label",)),
    "network_type": (attrgetter("network_type"), ("network_type",)),
    "rank": (attrgetter("rank"), ("rank",)),
    "alpha": (attrgetter("alpha"), ("alpha",)),
    "sha256": (lambda r: r.sha256, HASH_COLS),
    "autov2": (lambda r: r.sha256[:10] if r.sha256 else None, HASH_COLS),
    "tensor_sha256": (_tensor, T_COLS),
    "autov3": (lambda r: (_tensor(r) or "")[:12] or None, T_COLS),
    "sdnext_hash": (lambda r: (_tensor(r) or "")[:8] or None, T_COLS),
    "tensor_hash_source": (lambda r: "computed" if r.tensor_sha256 else ("header" if r.header_hash else None), T_COLS),
    "legacy_hash": (attrgetter("legacy_hash"), ("legacy_hash",)),
    "header_hash": (attrgetter("header_hash"), ("header_hash",)),
    "header_hash_ok": (attrgetter("header_hash_ok"), ("header_hash_ok",)),
    "hash_state": (
        lambda r: None if r.state == "other" else "done" if _hashed(r) else ("error" if r.hash_error else "pending"),
        ("hashed_size", "size", "hashed_mtime_ns", "mtime_ns", "hash_error", "state"),
    ),
    "hash_error": (attrgetter("hash_error"), ("hash_error",)),
    "triggers": (lambda r: r.u_triggers if r.u_triggers is not None else (r.triggers or []), ("triggers", "u_triggers")),
    "extracted_triggers": (lambda r: r.triggers or [], ("triggers",)),
    "user_triggers": (attrgetter("u_triggers"), ("u_triggers",)),
    "training_tags": (lambda r: r.training_tags or [], ("training_tags",)),
    "source_tags": (lambda r: r.source_tags or [], ("source_tags",)),
    "tags": (lambda r: [], ("tags",)),  # filled by build() from the tag table
    "favorite": (lambda r: bool(r.u_favorite), ("u_favorite",)),
    "rating": (attrgetter("u_rating"), ("u_rating",)),
    "notes": (attrgetter("u_notes"), ("u_notes",)),
    "preferred_weight": (lambda r: _user_or(r, "u_preferred_weight", "preferred_weight"), ("u_preferred_weight", "suggested")),
    "weight_min": (lambda r: _user_or(r, "u_weight_min", "weight_min"), ("u_weight_min", "suggested")),
    "weight_max": (lambda r: _user_or(r, "u_weight_max", "weight_max"), ("u_weight_max", "suggested")),
    "negative_text": (lambda r: _user_or(r, "u_negative_text", "negative_text"), ("u_negative_text", "suggested")),
    "description": (attrgetter("description"), ("description",)),
    "author": (attrgetter("author"), ("author",)),
    "trained_started": (attrgetter("trained_started"), ("trained_started",)),
    "trained_finished": (attrgetter("trained_finished"), ("trained_finished",)),
    "resolution": (attrgetter("resolution"), ("resolution",)),
    "cover": (attrgetter("cover_mime"), ("cover_mime",)),
    "previews": (lambda r: r.previews or [], ("previews",)),
    "sidecars": (lambda r: r.sidecars or [], ("sidecars",)),
    "added_at": (lambda r: _iso(r.added_at), ("added_at",)),
    "missing_since": (lambda r: _iso(r.missing_since), ("missing_since",)),
    "moved_from": (attrgetter("moved_from"), ("moved_from",)),
    "uses": (lambda r: r.x_uses or 0, ("x_uses",)),
    "last_used": (lambda r: _iso(r.x_last_used), ("x_last_used",)),
}
ALL_FIELDS = tuple(FIELDS)
# What a list page gives when no `fields` are asked for: what a card or a row shows.
# Training tags, sidecars, descriptions, every hash form and the rest come with one
# entry (GET /loras/{key}) or with `fields=` (docs/performance-api.md: page size).
LIST_FIELDS = ("id", "name", "prompt_name", "title", "alias", "folder", "size", "mtime_ns", "state", "error",
               "base_model", "base_label", "network_type", "hash_state", "triggers", "tags", "favorite", "rating",
               "preferred_weight", "cover", "previews", "uses", "last_used", "added_at")
DETAIL_FIELDS = ("metadata", "duplicates")  # only on one entry, not in lists
USER_LABELS = {f"u_{c.name}": c for c in U.c if c.name != "lora_id"}


def parse_fields(fields: str | list[str] | None) -> tuple[str, ...]:
    """Validate a field selection; None or empty means every list field."""
    if not fields:
        return ALL_FIELDS
    names = [f.strip() for f in (fields.split(",") if isinstance(fields, str) else fields) if f.strip()]
    if not names:
        return ALL_FIELDS
    unknown = sorted(set(names) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)[:200]}", {"allowed": list(ALL_FIELDS)})
    return tuple(dict.fromkeys(names))


# JSON columns whose value a field passes through untouched (so raw text will do).
RAW_COLUMNS = {"triggers", "training_tags", "source_tags", "previews", "sidecars", "u_triggers"}


def columns_for(fields: tuple[str, ...], raw: bool = False):
    """The select columns that `fields` need (loras columns, labelled user columns), and whether tags are needed."""
    needed: set[str] = {"id"}
    for f in fields:
        needed.update(FIELDS[f][1])
    cols = [type_coerce(c, Text).label(c.name) if raw and c.name in RAW_COLUMNS else c for c in L.c if c.name in needed]
    for label, col in USER_LABELS.items():
        if label in needed:
            cols.append(type_coerce(col, Text).label(label) if raw and label in RAW_COLUMNS else col.label(label))
    cols += [make().label(name) for name, make in COMPUTED.items() if name in needed]
    return cols, "tags" in needed


@lru_cache(maxsize=64)
def _getters(fields: tuple[str, ...]) -> tuple[tuple[tuple[str, Callable[[Any], Any]], ...], tuple[str, ...]]:
    """(field, getter) pairs, and which of the fields may come as raw JSON text."""
    return tuple((f, FIELDS[f][0]) for f in fields), tuple(f for f in fields if f in RAW_FIELDS)


def build(row, fields: tuple[str, ...] = ALL_FIELDS, tags: Iterable[str] | None = None, raw: bool = False) -> dict[str, Any]:
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


RAW_FIELDS = {"triggers", "extracted_triggers", "user_triggers", "training_tags", "source_tags", "previews", "sidecars"}
