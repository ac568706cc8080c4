"""A searched page read from its first rank alone, when that rank fills it.

A searched list is ordered by rank first (whole-word hits, then word starts, then substrings: search.py), then by
the sort. Ranking every match costs each page all the matches: a broad word at 100k LoRAs ("style", 29k hits)
evaluated four word-index lookups and sorted every hit, 60-110 ms a page. The rows of rank 0 come first, so when
rank 0 alone holds the page (a query for `limit` rows of rank 0 after the offset or the cursor gives `limit`
rows), those are the page: they come from a walk of the sort's index that tests each entry against the whole-word
hits and stops after the page, as an unsearched list does. Otherwise (a page past the first rank, a narrow search,
an order no index walks) the full ranked statement answers, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import Column, literal, select

from .base import L
from .catalog_sort import Order, after, order_by
from .search import whole_words


def walkable(order: Order) -> bool:
    """A search's order whose first key is the rank and whose other keys an index walks (no favourites first)."""
    return (order.favorite is None and order.name.endswith("+rank")
            and all(isinstance(expr, Column) for expr, _ in order.keys[1:]))


def first_rank_rows(conn, q, order: Order, cols: list, joined, cursor_keys: list | None, offset: int, *,
                    dialect: str, hits: Callable[[], int], conditions: Callable[[object], list]):
    """The page's rows when rank 0 holds all of them, else None (the caller runs the ranked statement).
    `hits()`: how many rows have every word whole (kept counts); `conditions(q)`: an unsearched list's WHERE."""
    if cursor_keys is not None and cursor_keys[0] != 0:
        return None  # the cursor is past the first rank
    # `id + 0`: the hits are tested while the sort's index is walked, never looked up one by one in the table
    whole = whole_words(dialect, q.query, L.c.id + 0, name="first_rank")
    if whole is None or hits() < (0 if cursor_keys else offset) + q.limit:
        return None  # rank 0 cannot fill the page: no walk of the sort index that would find too few
    conds = conditions(replace(q, query=""))
    rest = Order(order.name, order.keys[1:])
    keys = [literal(0).label("_k0"), *[expr.label(f"_k{i}") for i, (expr, _) in enumerate(rest.keys, 1)]]
    keyset = after(rest, cursor_keys[1:]) if cursor_keys else []
    stmt = (select(*cols, *keys).select_from(joined).where(*conds, whole, *keyset).order_by(*order_by(rest))
            .limit(q.limit).offset(0 if cursor_keys else offset))
    rows = conn.execute(stmt).all()
    return rows if len(rows) == q.limit else None
