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


def _fts(words: list[str]) -> str:
    return " ".join('"' + w.replace('"', "") + '"*' for w in words)


def match_clause(dialect: str, query: str, id_column, *, broad: bool = False) -> ColumnElement[bool] | None:
    """A WHERE clause matching every word of `query` as a prefix; None when no words.

    `broad` (SQLite): the query matches a large part of the library, so walking
    the sort order's index and testing each id against the matches beats
    fetching every match and sorting them (29k matches at 100k LoRAs: 4 ms
    instead of 30). The unary `+` keeps SQLite from driving the query by id."""
    words = terms(query)
    if not words:
        return None
    if dialect == "sqlite":
        if broad:
            return text("+loras.id IN (SELECT rowid FROM loras_fts WHERE loras_fts MATCH :fts)").bindparams(
                fts=_fts(words)
            )
        return id_column.in_(text("SELECT rowid FROM loras_fts WHERE loras_fts MATCH :fts").bindparams(fts=_fts(words)))
    if dialect == "postgresql":
        tsq = " & ".join(w.replace("'", "") + ":*" for w in words)
        return text("to_tsvector('simple', loras.search_text) @@ to_tsquery('simple', :tsq)").bindparams(tsq=tsq)
    like = [literal_column("loras.search_text").ilike(f"%{w}%") for w in words]
    from sqlalchemy import and_

    return and_(*like)


def fts_hits(conn, query: str) -> int:
    """How many LoRAs (trashed included) SQLite's full-text index matches for `query`: cheap, no table rows read."""
    words = terms(query)
    if not words:
        return 0
    return int(
        conn.execute(
            text("SELECT count(*) FROM loras_fts WHERE loras_fts MATCH :fts"), {"fts": _fts(words)}
        ).scalar_one()
    )


def walk_is_cheaper(hits: int, rows: int, depth: int) -> bool:
    """Walk the sort index (about 0.1 us an entry, until `depth` matches are seen) rather than
    fetch and sort every match (about 1 us a match)? Figures measured at 100k LoRAs (docs/performance-api.md)."""
    if hits <= 0 or rows <= 0:
        return False
    walked = min(rows, depth * rows / hits)
    return walked * 0.1 < hits * 1.0
