"""Full-text query building for SQLite and PostgreSQL: every word of a query matches as a word prefix
anywhere in the search text (names, triggers, tags, description), or as a substring (three characters and
more) of the names, titles, display name, triggers and tags; and the rank of a match, whole words first.

SQLite: FTS5 `loras_fts` (word prefixes) and `loras_fts_tri` (trigram: substrings), migrations 0001 and 0012.
PostgreSQL: the 'simple' tsvector GIN index (word prefixes) and ILIKE over a pg_trgm GIN index (substrings)."""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, and_, case, literal_column, text

from ..library.searchtext import search_text  # noqa: F401 - re-exported for the stores
from .models import UNLISTED_STATES

_TOKEN = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12
MIN_INFIX = 3  # a trigram index answers substrings of three characters and more


def terms(query: str) -> list[str]:
    """Words of a user query; every punctuation (FTS syntax included) is dropped."""
    return [t.lower() for t in _TOKEN.findall(query or "")][:MAX_TERMS]


def _fts(words: list[str], prefix: bool = True) -> str:
    star = "*" if prefix else ""
    return " ".join('"' + w.replace('"', "") + '"' + star for w in words)


def _tsq(words: list[str], prefix: bool = True) -> str:
    star = ":*" if prefix else ""
    return " & ".join(w.replace("'", "").replace("\\", "") + star for w in words)


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _sqlite_ids(table: str, fts: str, name: str):
    return text(f"SELECT rowid FROM {table} WHERE {table} MATCH :{name}").bindparams(**{name: fts})  # noqa: S608


def _pg_words(tsq: str, name: str) -> ColumnElement[bool]:
    return text(f"to_tsvector('simple', loras.search_text) @@ to_tsquery('simple', :{name})").bindparams(
        **{name: tsq})


def _pg_ids(tsq: str, name: str):
    return text(f"SELECT id FROM loras WHERE to_tsvector('simple', search_text) @@ to_tsquery('simple', :{name})"
                ).bindparams(**{name: tsq})  # noqa: S608


def _sqlite_word_ids(words: list[str]) -> list:
    """SQLite: one statement of row ids per word, every word's to be matched (a word prefix, or a substring from
    three characters); a single one when no word is long enough for a substring."""
    if all(len(w) < MIN_INFIX for w in words):  # no substring to look for: one look at the word index
        return [_sqlite_ids("loras_fts", _fts(words), "fts")]
    out = []
    for i, w in enumerate(words):
        prefix = _sqlite_ids("loras_fts", _fts([w]), f"fts{i}")
        if len(w) < MIN_INFIX:
            out.append(prefix)
        else:
            infix = _sqlite_ids("loras_fts_tri", _fts([w], prefix=False), f"tri{i}")
            out.append(text(f"{prefix.text} UNION {infix.text}").bindparams(
                **{f"fts{i}": _fts([w]), f"tri{i}": _fts([w], prefix=False)}))
    return out


def match_clause(dialect: str, query: str, id_column) -> ColumnElement[bool] | None:
    """A WHERE clause matching every word of `query` (word prefix, or substring of three characters and more);
    None when no words."""
    words = terms(query)
    if not words:
        return None
    if dialect == "sqlite":
        return and_(*[id_column.in_(ids) for ids in _sqlite_word_ids(words)])
    if dialect == "postgresql":
        conds = []
        for i, w in enumerate(words):
            if len(w) < MIN_INFIX:
                conds.append(_pg_words(_tsq([w]), f"tsq{i}"))
            else:
                # ids from each index apart: an OR of both rechecks every substring hit against a tsvector
                # made from its row (166 ms for 636 hits at 10k LoRAs), a UNION of ids does not
                conds.append(id_column.in_(text(
                    f"SELECT id FROM loras WHERE to_tsvector('simple', search_text) @@ to_tsquery('simple', :tsq{i}) "
                    f"UNION SELECT id FROM loras WHERE infix_text ILIKE :like{i} ESCAPE '\\'"  # noqa: S608
                ).bindparams(**{f"tsq{i}": _tsq([w]), f"like{i}": _like(w)})))
        return and_(*conds)
    return and_(*[literal_column("loras.search_text").ilike(_like(w), escape="\\") for w in words])


def word_hits(dialect: str, query: str, id_column, name: str, prefix: bool = False) -> ColumnElement[bool] | None:
    """Rows where every word of `query` is a whole word of the search text (the first rank), or with `prefix`
    starts one (the first two ranks); None when no words or no word index."""
    words = terms(query)
    if not words:
        return None
    if dialect == "sqlite":
        return id_column.in_(_sqlite_ids("loras_fts", _fts(words, prefix=prefix), name))
    if dialect == "postgresql":  # ids from the GIN index: a tsvector made per row costs ms on long descriptions
        return id_column.in_(_pg_ids(_tsq(words, prefix=prefix), name))
    return None


def count_word_hits(conn, dialect: str, query: str, prefix: bool, at_most: int) -> int:
    """How many rows `word_hits` holds (trashed ones included), counted up to `at_most` (the read stops there),
    from the word index alone."""
    words = terms(query)
    if dialect == "sqlite":
        sql, value = "SELECT rowid FROM loras_fts WHERE loras_fts MATCH :w", _fts(words, prefix=prefix)
    else:
        sql = "SELECT id FROM loras WHERE to_tsvector('simple', search_text) @@ to_tsquery('simple', :w)"
        value = _tsq(words, prefix=prefix)
    sql = f"SELECT count(*) FROM ({sql} LIMIT :n) AS hits"  # noqa: S608 - the words are bound parameters
    return int(conn.execute(text(sql), {"w": value, "n": at_most}).scalar() or 0)


def count_sqlite_matches(conn, query: str) -> int:
    """How many listed rows (not trashed, not "other") match every word of `query`, counted over the ids the word
    indexes give (SQLite, `_sqlite_word_ids` intersected), without the walk of a whole index that testing every row
    against them costs (70 ms -> ~30 ms for 29k hits at 100k LoRAs). Each id is a row's (the indexes follow the
    table by triggers)."""
    parts = _sqlite_word_ids(terms(query))
    both = " INTERSECT ".join(f"SELECT * FROM ({ids.text})" for ids in parts)  # noqa: S608 - bound parameters
    unlisted = ", ".join(f"'{state}'" for state in UNLISTED_STATES)  # our own constants
    sql = text(f"SELECT count(*) FROM ({both}) AS m "  # noqa: S608
               f"WHERE m.rowid NOT IN (SELECT id FROM loras WHERE state IN ({unlisted}))")
    params = {k: v for ids in parts for k, v in ids.compile().params.items()}
    return int(conn.execute(sql, params).scalar() or 0)


def rank(dialect: str, query: str, id_column) -> ColumnElement[int] | None:
    """0 where every word is a whole word of the search text, 1 where every word starts one, else 2 (substring
    hits): the first key of a searched list's order. None when no words."""
    whole = word_hits(dialect, query, id_column, "rank_whole")
    if whole is None:
        return None
    return case((whole, 0), (word_hits(dialect, query, id_column, "rank_prefix", prefix=True), 1), else_=2)
