"""The searchable text of one LoRA (pure; computed in header workers and by the store)."""

from __future__ import annotations

from typing import Any
from collections.abc import Iterable

DESCRIPTION_CHARS = 2_000


def search_text(row: dict[str, Any], user_tags: Iterable[str] = (), user_triggers: Iterable[str] | None = None) -> str:
    """The searchable text of one LoRA: names, alias, title, triggers, tags, description."""
    name = row.get("file_name") or ""
    parts: list[str] = [name.rsplit(".", 1)[0], row.get("prompt_name") or "", row.get("alias") or "",
                        row.get("title") or ""]
    parts.extend(row.get("triggers") or ())
    parts.extend(user_triggers or ())
    parts.extend(row.get("source_tags") or ())
    parts.extend(user_tags)
    parts.append((row.get("description") or "")[:DESCRIPTION_CHARS])
    return " ".join(p for p in parts if p)
