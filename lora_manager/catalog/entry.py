"""The public shape of one LoRA (the CLI's, the API's and the tab's JSON), declared once.

Each field says its name, its type and description (the API schema is built from them,
api/schemas.py), the columns it reads and how it is built from a row (the store selects
and builds only the fields asked for, storage/entries.py), and where it is shown:

- "card": what the tab's grid and table ask for (served to the tab, api/handlers/system.py),
- "list": also in a list page when no `fields` are given,
- "entry": only in one entry (GET /loras/{key}) or when named in `fields`,
- "detail": only in one entry, filled by the store's `get` (not selectable).

Rows have attribute access: `loras` columns, the user's columns labelled `u_*` and the
usage figures `x_*`. A field marked `raw` passes a JSON column through untouched, so a
list may hand it on as the stored text (never decoded and encoded again).
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Literal, Optional
from collections.abc import Callable

from ..errors import InvalidInput
from ..library.clock import iso as _iso
from ..library.records import GUESS_NOTES, Preview
from ..library.searchtext import shown_name


# Shapes of nested values, for the API's schema (never built: the rows hold plain dicts).
@dataclass
class Sidecar:  # a sidecar beside the file: which, whether it parsed, and what it names (ids, base label, hash)
    kind: str
    name: str
    error: Optional[str] = None
    __pydantic_config__ = {"extra": "allow"}  # the API's schema: the keys a sidecar names come along


@dataclass
class DuplicateRef:
    id: int
    path: str


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: Any  # of a present value; every field of a list item may be absent or null
    columns: tuple[str, ...]
    build: Callable[[Any], Any] | None  # row -> value; None for "detail" fields
    shown: str = "entry"  # card | list | entry | detail (see the module's docstring)
    description: str | None = None
    raw: bool = False


def _tensor(r) -> str | None:
    # Until the file is hashed, the trainer's sshs_model_hash stands in for the
    # tensor hash (and is checked against it once hashed).
    return r.tensor_sha256 or r.header_hash


def _hashed(r) -> bool:
    return r.hashed_size == r.size and r.hashed_mtime_ns == r.mtime_ns


def _user_or(user_key: str, suggested_key: str) -> Callable[[Any], Any]:
    def get(r) -> Any:
        value = getattr(r, user_key)
        return value if value is not None else (r.suggested or {}).get(suggested_key)

    return get


def _plain(name: str, type_: Any, shown: str = "entry", description: str | None = None,
           column: str | None = None) -> Field:
    """A field that is one column as it is."""
    column = column or name
    return Field(name, type_, (column,), attrgetter(column), shown, description)


HASH = ("sha256",)
TENSOR = ("tensor_sha256", "header_hash")
HASH_STATE = ("hashed_size", "size", "hashed_mtime_ns", "mtime_ns", "hash_error", "state")
STATE = Literal["ok", "broken", "unsupported", "other", "missing", "trashed"]

ENTRY: tuple[Field, ...] = (
    _plain("id", int, "card"),
    Field("name", str, ("file_name",), lambda r: r.file_name.rsplit(".", 1)[0], "card", "file base name"),
    _plain("prompt_name", str, "card", "what SDNext resolves in <lora:NAME:weight>"),
    _plain("title", str, "card"),
    _plain("alias", str, "card", "ss_output_name (not accepted by SDNext in a prompt)"),
    _plain("display_name", str, "card", "the user's own name for it (never changed by a rescan)",
           column="u_display_name"),
    Field("shown_name", str, ("u_display_name", "title", "file_name"),
          lambda r: shown_name(r.u_display_name, r.title, r.file_name), "card",
          "what a card shows and the name sort orders by: display_name, else title, else name"),
    _plain("path", str),
    _plain("root", str),
    _plain("folder", str, "list"),
    _plain("file_name", str),
    _plain("size", int, "card"),
    _plain("mtime_ns", int, "card"),
    _plain("state", STATE, "card"),
    _plain("error", str, "list"),
    Field("base_model", str, ("base_family", "u_base_override"), lambda r: r.u_base_override or r.base_family, "card",
          "SDNext family (sd1, sd2, xl, sd3, f1, ...); the user's override wins"),
    _plain("base_model_detected", str, column="base_family"),
    Field("base_model_source", str, ("base_source", "u_base_override"),
          lambda r: "user" if r.u_base_override else r.base_source),
    _plain("base_label", str, "list", "finer label such as Pony, Illustrious, SDXL 1.0"),
    _plain("network_type", str, "card"),
    _plain("rank", int),
    _plain("alpha", float),
    Field("sha256", str, HASH, attrgetter("sha256"), description="full-file SHA-256"),
    Field("autov2", str, HASH, lambda r: r.sha256[:10] if r.sha256 else None,
          description="first 10 hex of sha256 (Civitai AutoV2)"),
    Field("tensor_sha256", str, TENSOR, _tensor, description="SHA-256 of the tensor data (what SDNext/A1111 show)"),
    Field("autov3", str, TENSOR, lambda r: (_tensor(r) or "")[:12] or None,
          description="first 12 hex of tensor_sha256 (Civitai AutoV3, A1111)"),
    Field("sdnext_hash", str, TENSOR, lambda r: (_tensor(r) or "")[:8] or None,
          description="first 8 hex of tensor_sha256 (SDNext)"),
    Field("tensor_hash_source", Literal["computed", "header"], TENSOR,
          lambda r: "computed" if r.tensor_sha256 else ("header" if r.header_hash else None)),
    _plain("legacy_hash", str),
    _plain("header_hash", str),
    _plain("header_hash_ok", bool),
    Field("hash_state", Literal["done", "pending", "error"], HASH_STATE,
          lambda r: None if r.state == "other" else "done" if _hashed(r) else ("error" if r.hash_error else "pending"),
          "card"),
    _plain("hash_error", str),
    Field("triggers", list[str], ("triggers", "u_triggers"),
          lambda r: r.u_triggers if r.u_triggers is not None else (r.triggers or []), "card", raw=True),
    Field("extracted_triggers", list[str], ("triggers",), lambda r: r.triggers or [], raw=True),
    Field("user_triggers", list[str], ("u_triggers",), attrgetter("u_triggers"), raw=True),
    # JSON null (`None`, or "null" as raw text): not read yet (sync/training.py); shown as none so far
    Field("training_tags", list[tuple[str, int]], ("training_tags",),
          lambda r: r.training_tags if r.training_tags and r.training_tags != "null" else [], raw=True),
    Field("source_tags", list[str], ("source_tags",), lambda r: r.source_tags or [], raw=True),
    Field("tags", list[str], ("tags",), lambda r: [], "list"),  # filled by the store from the tag table
    Field("favorite", bool, ("u_favorite",), lambda r: bool(r.u_favorite), "card"),
    _plain("rating", int, "card", column="u_rating"),
    _plain("notes", str, column="u_notes"),
    Field("preferred_weight", float, ("u_preferred_weight", "suggested"),
          _user_or("u_preferred_weight", "preferred_weight"), "card"),
    Field("weight_min", float, ("u_weight_min", "suggested"), _user_or("u_weight_min", "weight_min")),
    Field("weight_max", float, ("u_weight_max", "suggested"), _user_or("u_weight_max", "weight_max")),
    Field("negative_text", str, ("u_negative_text", "suggested"), _user_or("u_negative_text", "negative_text")),
    _plain("description", str),
    _plain("author", str),
    _plain("trained_started", str),
    _plain("trained_finished", str),
    _plain("resolution", str),
    _plain("cover", str, "card", "content type of an embedded cover image", column="cover_mime"),
    Field("previews", list[Preview], ("previews",), lambda r: r.previews or [], "card", raw=True),
    Field("sidecars", list[Sidecar], ("sidecars",), lambda r: _sidecars(r.sidecars)),
    _plain("nsfw_level", int, "card", "the preview's rating from the sidecars (1 PG, 2 PG13, 4 R, 8 X, 16 XXX); "
           "the tab blurs above the user's; null: unknown (the list's `nsfw_max` filters on it)"),
    Field("added_at", str, ("added_at",), lambda r: _iso(r.added_at), "list"),
    Field("missing_since", str, ("missing_since",), lambda r: _iso(r.missing_since)),
    _plain("moved_from", str),
    Field("uses", int, ("x_uses",), lambda r: r.x_uses or 0, "card",
          "generations that applied it (recorded inside the host)"),
    Field("last_used", str, ("x_last_used",), lambda r: _iso(r.x_last_used), "list"),
    Field("metadata", dict[str, str], ("meta",), None, "detail", "the header's metadata, large values trimmed"),
    Field("duplicates", list[DuplicateRef], ("sha256",), None, "detail"),
    Field("civitai", dict[str, Any], (), None, "detail",
          "Civitai's facts (fetched by hash), beside the user's own fields; status not_asked before a look-up"),
)

FIELDS: dict[str, Field] = {f.name: f for f in ENTRY if f.shown != "detail"}  # what `fields=` may name
ALL_FIELDS = tuple(FIELDS)
# A list page without `fields`: what a card or a row shows. Training tags, sidecars, descriptions,
# every hash form and the rest come with one entry or with `fields=` (docs/performance-api.md: page size).
LIST_FIELDS = tuple(f.name for f in ENTRY if f.shown in ("card", "list"))
CARD_FIELDS = tuple(f.name for f in ENTRY if f.shown == "card")  # the tab's grid and table
DETAIL_FIELDS = tuple(f.name for f in ENTRY if f.shown == "detail")  # only on one entry, not in lists
RAW_FIELDS = frozenset(f.name for f in ENTRY if f.raw)


def parse_fields(fields: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Validate a field selection; None or empty means every field."""
    if not fields:
        return ALL_FIELDS
    names = [f.strip() for f in (fields.split(",") if isinstance(fields, str) else fields) if f.strip()]
    if not names:
        return ALL_FIELDS
    unknown = sorted(set(names) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)[:200]}", {"allowed": list(ALL_FIELDS)})
    return tuple(dict.fromkeys(names))


def _sidecars(rows: list | None) -> list:
    """The sidecar rows as shown: `hash_keys` and `own_sha256` are the index's own notes
    (storage/version_guesses.py)."""
    return [{k: v for k, v in s.items() if k not in GUESS_NOTES} if isinstance(s, dict) and "hash_keys" in s else s
            for s in rows or ()]
