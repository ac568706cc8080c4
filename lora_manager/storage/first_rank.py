"""A searched page read from one rank alone, when that rank holds the whole page.

A searched list is ordered by rank first (0: every word whole, 1: every word starts a word, 2: substrings only;
search.py), then by the sort. Ranking every match costs each page all the matches: a broad word at 100k LoRAs
("style", 29k hits) took four word-index lookups and a sort of every hit, 60-110 ms a page. Rows of the first rank
that has any come first, so when it alone holds the page (a query for `limit` rows of it after the offset or
the cursor gives `limit` rows), those rows are the page. They come from a walk of the sort's index that tests each
entry against that rank's hits and stops after the page, as an unsearched list does. When no word is whole or
starts a word, every hit is of rank 2 and the walk is the page as it is. Otherwise (a page past that rank, hits
too sparse for a walk to stop early, an order no index walks) the full ranked statement answers, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import Column, literal, select

from .base import L
from .catalog_sort import Order, after, order_by
from .search import count_word_hits, match_clause, word_hits

SPARSE = 4  # a walk is tried when the rank's hits are at least this many times the rows it must find


def walkable(order: Order) -> bool:
    """A search's order whose first key is the rank and whose other keys an index walks (no favourites first)."""
    return (order.favorite is None and order.name.endswith("+rank")
            and all(isinstance(expr, Column) for expr, _ in order.keys[1:]))


def first_rank_rows(conn, q, order: Order, cols: list, joined, cursor_keys: list | None, offset: int, *,
                    dialect: str, total: int, conditions: Callable[[object], list]):
    """The page's rows when the first rank with hits holds all of them, else None (the caller runs the ranked
    statement). `total`: the list's count; `conditions(q)`: an unsearched list's WHERE."""
    need = ((0 if cursor_keys else offset) + q.limit) * SPARSE
    whole, starts = count_word_hits(conn, dialect, q.query, False, need), 0
    rank = 0 if whole else 1 if (starts := count_word_hits(conn, dialect, q.query, True, need)) else 2
    if cursor_keys is not None and cursor_keys[0] != rank:
        return None  # the cursor is past that rank
    if (whole, starts, total)[rank] < need:
        return None  # too few of that rank for a walk of the sort's index to stop early
    # `id + 0`: the hits are tested while the sort's index is walked, never looked up one by one in the table
    if rank == 2:
        hit = match_clause(dialect, q.query, L.c.id + 0)
    else:
        hit = word_hits(dialect, q.query, L.c.id + 0, "first_rank", prefix=rank == 1)
    if hit is None:
        return None
    rest = Order(order.name, order.keys[1:])
    keys = [literal(rank).label("_k0"), *[expr.label(f"_k{i}") for i, (expr, _) in enumerate(rest.keys, 1)]]
    keyset = after(rest, cursor_keys[1:]) if cursor_keys else []
    stmt = (select(*cols, *keys).select_from(joined).where(*conditions(replace(q, query="")), hit, *keyset)
            .order_by(*order_by(rest)).limit(q.limit).offset(0 if cursor_keys else offset))
    rows = conn.execute(stmt).all()
    # rank 2 is every hit there is: its walk is the page, full or not; a first rank short of the page is not
    return rows if rank == 2 or len(rows) == q.limit else None
