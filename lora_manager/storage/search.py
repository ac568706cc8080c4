"""Search text and full-text query building for SQLite FTS5 and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any, Iterable

from sqlalchemy import ColumnElement, literal_column, text

_TOKEN = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12
DESCRIPTION_CHARS = 2_000


def search_text(row: dict[str, Any], user_tags: Iterable[str] = (), user_triggers: Iterable[str] | None = None) -> str:
    """The searchable text of one LoRA: names, alias, title, triggers, tags, description."""
    name = row.get("file_name") or ""
    parts: list[str] = [name.rsplit(".", 1)[0], row.get("prompt_name") or "", row.get("alias") or "", row.get("title") or ""]
    parts.extend(row.get("triggers") or ())
    parts.extend(user_triggers or ())
    parts.extend(row.get("source_tags") or ())
    parts.extend(user_tags)
    parts.append((row.get("description") or "")[:DESCRIPTION_CHARS])
    return " ".join(p for p in parts if p)


def terms(query: str) -> list[str]:
    """Words of a user query; every punctuation (FTS syntax included) is dropped."""
    return [t.lower() for t in _TOKEN.findall(query or "")][:MAX_TERMS]


def match_clause(dialect: str, query: str, id_column) -> ColumnElement[bool] | None:
    """A WHERE clause matching every word of `query` as a prefix; None when no words."""
    words = terms(query)
    if not words:
        return None
    if dialect == "sqlite":
        fts = " ".join('"' + w.replace('"', "") + '"*' for w in words)
        return id_column.in_(text("SELECT rowid FROM loras_fts WHERE loras_fts MATCH :fts").bindparams(fts=fts))
    if dialect == "postgresql":
        tsq = " & ".join(w.replace("'", "") + ":*" for w in words)
        return text("to_tsvector('simple', loras.search_text) @@ to_tsquery('simple', :tsq)").bindparams(tsq=tsq)
    like = [literal_column("loras.search_text").ilike(f"%{w}%") for w in words]
    from sqlalchemy import and_

    return and_(*like)
