"""The searchable text of one LoRA (pure; computed in header workers and by the store)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from collections.abc import Iterable

DESCRIPTION_CHARS = 2_000


def _words(row: dict[str, Any], user_tags: Iterable[str], user_triggers: Iterable[str] | None,
           display_name: str | None) -> list[str]:
    """Names, alias, title, display name, triggers (extracted and the user's) and tags (the model's and the user's)."""
    name = row.get("file_name") or ""
    parts: list[str] = [name.rsplit(".", 1)[0], row.get("prompt_name") or "", row.get("alias") or "",
                        row.get("title") or "", display_name or ""]
    parts.extend(row.get("triggers") or ())
    parts.extend(user_triggers or ())
    parts.extend(row.get("source_tags") or ())
    parts.extend(user_tags)
    return parts


def search_text(row: dict[str, Any], user_tags: Iterable[str] = (), user_triggers: Iterable[str] | None = None,
                display_name: str | None = None) -> str:
    """The searchable text of one LoRA: names, alias, title, display name, triggers, tags, description."""
    parts = _words(row, user_tags, user_triggers, display_name)
    parts.append((row.get("description") or "")[:DESCRIPTION_CHARS])
    return " ".join(p for p in parts if p)


_DIGITS = re.compile(r"\d+")
SORT_KEY_CHARS = 400


def shown_name(display_name: str | None, title: str | None, file_name: str | None) -> str:
    """The name a card shows: the user's display name, else the title, else the file's base name."""
    for name in (display_name, title):
        if name and name.strip():
            return name.strip()
    return (file_name or "").rsplit(".", 1)[0]


def _number(m: re.Match) -> str:
    digits = m.group().lstrip("0") or "0"
    return f"{min(len(digits), 99):02d}{digits}"  # its length first: v2 < v10, and 007 = 7


def sort_key(name: str) -> str:
    """A key that orders names as people read them: case and accents ignored, spaces collapsed,
    numbers by value (natural order: v2 < v10). Compared byte by byte (collation "C")."""
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = " ".join(text.split())
    return _DIGITS.sub(_number, text)[:SORT_KEY_CHARS]


def infix_text(row: dict[str, Any], user_tags: Iterable[str] = (), user_triggers: Iterable[str] | None = None,
               display_name: str | None = None) -> str:
    """What substring search reads: names, title, display name, triggers and tags (no description)."""
    parts = _words(row, user_tags, user_triggers, display_name)
    return " | ".join(dict.fromkeys(p for p in parts if p))
