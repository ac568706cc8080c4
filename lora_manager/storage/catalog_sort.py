"""The orders of a list: its sort keys, the ranks before them (favourites first, search hits by match quality),
keyset conditions for the rows after a cursor, and the statement of one page in an order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Column, and_, case, func, literal, or_, select, union_all

from .base import L, U
from .entries import COMPUTED
from .search import rank

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # "never used": the oldest last use


def _uses():
    return func.coalesce(COMPUTED["x_uses"](), 0)


def _last_used():
    return func.coalesce(COMPUTED["x_last_used"](), EPOCH)


SORTS = {
    "id": lambda: L.c.id,  # storage order: the cheapest for a full dump (an autocomplete index)
    "name": lambda: L.c.sort_name,  # the shown name: natural, case- and accent-insensitive (storage/derived.py)
    "modified": lambda: L.c.mtime_ns,
    "added": lambda: L.c.added_at,
    "size": lambda: L.c.size,
    "uses": _uses,  # from the usage rollup: no index to walk, every match sorted
    "last_used": _last_used,
    "rating": lambda: func.coalesce(U.c.rating, 0),  # the list joins the user table
}


@dataclass(slots=True)
class Order:
    """Keys in order, each with its direction: ranks (ascending), the sort key, then the id (ties)."""

    name: str  # the cursor's key: sort name with its ranks ("name+fav+rank")
    keys: list  # [(expression, descending)]
    favorite: object = None  # favourites first: the condition of rank 0


def order_for(sort: str, dialect: str, query: str, favorites_first: bool) -> Order:
    key = sort.lstrip("-")
    desc = sort.startswith("-")
    name, keys, favs = key, [], None
    if favorites_first:
        favs = L.c.id.in_(select(U.c.lora_id).where(U.c.favorite.is_(True)))
        keys.append((case((favs, 0), else_=1), False))
        name += "+fav"
    ranked = rank(dialect, query, L.c.id)
    if ranked is not None:
        keys.append((ranked, False))
        name += "+rank"
    col = SORTS[key]()
    keys.append((col, desc))
    if col is not L.c.id:
        keys.append((L.c.id, desc))  # ties follow the direction too: one index walked backwards
    return Order(name, keys, favs)


def order_by(order: Order) -> list:
    return [e.desc() if d else e.asc() for e, d in order.keys]


def after(order: Order, values: list) -> list:
    """Keyset conditions for the rows after the one whose keys were `values`, in `order`; a plain bound on the
    first key lets the database seek instead of scan."""
    def beyond(expr, desc, value):
        return expr < value if desc else expr > value

    cond = None
    for (expr, desc), value in reversed(list(zip(order.keys, values, strict=True))):
        step = beyond(expr, desc, value)
        cond = step if cond is None else or_(step, and_(expr == value, cond))
    first, desc = order.keys[0]
    bound = first <= values[0] if desc else first >= values[0]
    return [cond] if len(order.keys) == 1 else [bound, cond]


def page_statement(order, cols: list, joined, where: list, limit: int, offset: int):
    """One page's statement. An order an index walks (a column, then the id) selects the rows at once; a ranked
    or computed one (favourites first, search ranks, uses, rating) picks the page's ids and keys first, narrow,
    then reads those rows: sorting every match with its wide row cost 3x at 10k LoRAs."""
    keys = [expr.label(f"_k{i}") for i, (expr, _) in enumerate(order.keys)]
    if all(isinstance(expr, Column) for expr, _ in order.keys):
        return select(*cols, *keys).select_from(joined).where(*where).order_by(*order_by(order)) \
            .limit(limit).offset(offset)
    if order.favorite is not None and len(order.keys) == 3 and isinstance(order.keys[1][0], Column):
        ids = _favorites_first(order, joined, where, limit, offset)
    else:
        ids = (select(L.c.id.label("page_id"), *keys).select_from(joined).where(*where).order_by(*order_by(order))
               .limit(limit).offset(offset).subquery("page"))
    picked = [ids.c[f"_k{i}"] for i in range(len(keys))]
    return (select(*cols, *picked).select_from(joined.join(ids, ids.c.page_id == L.c.id))
            .order_by(*[c.desc() if d else c.asc() for c, (_, d) in zip(picked, order.keys, strict=True)]))


def _favorites_first(order, joined, where: list, limit: int, offset: int):
    """Favourites first over an indexed sort: the index walked twice (favourites, then the others), each walk
    stopping after offset + limit rows, instead of every listed row sorted by its rank."""
    rest = Order(order.name, order.keys[1:])
    walks = []
    for tier, cond in ((0, order.favorite), (1, ~order.favorite)):
        keys = [expr.label(f"_k{i}") for i, (expr, _) in enumerate(rest.keys, 1)]
        walk = (select(L.c.id.label("page_id"), literal(tier).label("_k0"), *keys).select_from(joined)
                .where(*where, cond).order_by(*order_by(rest)).limit(offset + limit).subquery())
        walks.append(select(walk))
    both = union_all(*walks).subquery("walks")
    ranked = [both.c[f"_k{i}"] for i in range(len(order.keys))]
    return (select(both).order_by(*[c.desc() if d else c.asc() for c, (_, d) in zip(ranked, order.keys, strict=True)])
            .limit(limit).offset(offset).subquery("page"))
