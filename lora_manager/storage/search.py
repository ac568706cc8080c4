"""Search text and full-text query building for SQLite FTS5 and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, literal_column, text

from ..library.searchtext import search_text  # noqa: F401 - re-exported for the stores

_TOKEN = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12


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
