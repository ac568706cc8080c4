"""The one read behind the prompt autocomplete: every usable LoRA in a few light columns.

At 100k LoRAs this is the whole library, so it avoids per-row work it can skip:
trigger lists stay the JSON text they are stored as (passed through to the
response as `orjson.Fragment`), and only rows that have previews or suggested
values decode anything.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import orjson
from sqlalchemy import Text, func, select, type_coerce

from ..library.clock import parse_utc
from .base import L, T, U
from .db import Db
from .rollups import TOT


def _epoch(value: Any) -> int | None:
    moment = parse_utc(value)  # SQLite hands back text for a coerced column
    return None if moment is None else int(moment.timestamp())


def _preview(count: int, previews_text: str | None, cover: str | None) -> int | str | None:
    """Index of the first image preview (images sort before videos), "cover" for an
    embedded cover only, None for nothing to show."""
    if count and previews_text:
        first = orjson.loads(previews_text)[:1]
        if first and isinstance(first[0], dict) and first[0].get("kind") == "image":
            return 0
    return "cover" if cover else None


SOURCE_TAGS = 8  # the first few tags a file or its sidecars give; the user's own come first and all


def _tags(user: list[str] | None, source_text: str | None) -> list[str]:
    """The user's tags, then the source's (Civitai, modelspec), lower case, once each."""
    out = list(user or ())
    if source_text and source_text != "[]":
        source = orjson.loads(source_text)
        if isinstance(source, list):
            seen = set(out)
            for tag in source[:SOURCE_TAGS]:
                if isinstance(tag, str) and tag.strip():
                    tag = tag.strip().lower()
                    if tag not in seen:
                        seen.add(tag)
                        out.append(tag)
    return out


class AutocompleteStore(ABC):
    @abstractmethod
    def autocomplete_rows(self) -> dict[str, list]:
        """Column lists (id, prompt_name, name, title, alias, base, weight, triggers, tags, uses, last_used,
        preview) over every LoRA in state ok, in id order; triggers stay JSON text (orjson.Fragment)."""


class SqlAutocompleteStore(AutocompleteStore):
    def __init__(self, db: Db):
        self.db = db

    def autocomplete_rows(self) -> dict[str, list]:
        """Column lists over every LoRA in state ok, in id order."""
        cols = (
            L.c.id, L.c.prompt_name, L.c.file_name, L.c.title, L.c.alias,
            func.coalesce(U.c.base_override, L.c.base_family).label("base"),
            U.c.preferred_weight, type_coerce(L.c.suggested, Text).label("suggested"),
            type_coerce(L.c.triggers, Text).label("triggers"), type_coerce(U.c.triggers, Text).label("u_triggers"),
            L.c.preview_count, type_coerce(L.c.previews, Text).label("previews"), L.c.cover_mime,
            type_coerce(L.c.source_tags, Text).label("source_tags"),
        )
        ok = L.c.state == "ok"
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                select(*cols).select_from(L.outerjoin(U, U.c.lora_id == L.c.id)).where(ok).order_by(L.c.id)
            ).all()
            tags: dict[int, list[str]] = {}
            for lid, tag in conn.execute(
                select(T.c.lora_id, T.c.tag).join(L, L.c.id == T.c.lora_id).where(ok).order_by(T.c.lora_id, T.c.tag)
            ):
                tags.setdefault(lid, []).append(tag)
            by_id: dict[int, tuple[int, Any]] = {}
            by_name: dict[str, tuple[int, Any]] = {}
            for lid, name, uses, last in conn.execute(select(TOT.c.lora_id, TOT.c.prompt_name, TOT.c.uses,
                                                             TOT.c.last_used)):
                if lid is not None:
                    by_id[lid] = (uses, last)
                else:  # recorded before the file was indexed: matched by the name it was asked for
                    by_name[name] = (uses, last)
        out: dict[str, list] = {k: [] for k in ("id", "prompt_name", "name", "title", "alias", "base", "weight",
                                                "triggers", "tags", "uses", "last_used", "preview")}
        empty = orjson.Fragment(b"[]")
        for r in rows:
            name = r.file_name.rsplit(".", 1)[0]
            weight = r.preferred_weight
            if weight is None and r.suggested and r.suggested not in ("{}", "null"):
                weight = orjson.loads(r.suggested).get("preferred_weight")
            usage = by_id.get(r.id) or by_name.get(r.prompt_name) or (0, None)
            trig = r.u_triggers if r.u_triggers is not None else r.triggers
            out["id"].append(r.id)
            out["prompt_name"].append(r.prompt_name)
            out["name"].append(None if name == r.prompt_name else name)  # only where it differs: half the bytes
            out["title"].append(r.title or None)
            out["alias"].append(r.alias if r.alias and r.alias != name else None)
            out["base"].append(r.base)
            out["weight"].append(weight if isinstance(weight, (int, float)) else None)
            out["triggers"].append(orjson.Fragment(trig) if trig and trig != "[]" else empty)
            out["tags"].append(_tags(tags.get(r.id), r.source_tags))
            out["uses"].append(int(usage[0] or 0))
            out["last_used"].append(_epoch(usage[1]))
            out["preview"].append(_preview(r.preview_count, r.previews, r.cover_mime))
        return out
