"""The filters of a list as WHERE conditions: each said so that a count reads narrow indexes, not wide rows."""

from __future__ import annotations

import dataclasses
import os

from sqlalchemy import Text, and_, func, or_, select, text, type_coerce, union

from .base import MT, H, L, T, U
from .civitai_dl_store import with_update
from .models import UNLISTED_STATES
from .scan_store import PRESENT, dup_hashes
from .search import MIN_INFIX, match_clause, terms

MAX_IDS = 1000
TR = L.alias("tr")
# "Not trashed" said so that no table row is read to decide it: the trashed are few, their ids
# come from the state index, and a walk of a sort index stays in the index (a deep offset
# page at 100k LoRAs: 270 ms -> 25 ms).
# Files that are not LoRAs ("other": embeddings, VAEs, ...) are left out the same way: listed
# only when asked for by state.
NOT_TRASHED = L.c.id.not_in(select(TR.c.id).where(TR.c.state.in_(UNLISTED_STATES)))
EMPTY_LISTS = ("[]", "")


def norm_tag(tag: str) -> str:
    return " ".join(tag.strip().lower().split())


def tagged(tags: list[str] | None = None):
    """Ids carrying any of `tags` (None: any tag at all), the user's or the model's own."""
    mine, theirs = select(T.c.lora_id), select(MT.c.lora_id)
    if tags is not None:
        mine, theirs = mine.where(T.c.tag.in_(tags)), theirs.where(MT.c.tag.in_(tags))
    return union(mine, theirs)


def has_triggers():
    """Trigger words apply: the user's when set (even to none), else the extracted ones."""
    mine, theirs = type_coerce(U.c.triggers, Text), type_coerce(L.c.triggers, Text)  # the stored JSON text
    set_by_user = select(U.c.lora_id).where(mine.is_not(None))
    user_some = select(U.c.lora_id).where(mine.is_not(None), mine.not_in(EMPTY_LISTS))
    extracted = and_(theirs.is_not(None), theirs.not_in(EMPTY_LISTS), L.c.id.not_in(set_by_user))
    return or_(extracted, L.c.id.in_(user_some))


def level_at_most(level: int):
    """"Hide above my level": the NSFW level (1 PG, 2 PG-13, 4 R, 8 X, 16 XXX) known and at most `level`, or unknown
    (no sidecar rates the preview: most LoRAs without Civitai's record) and the LoRA not flagged NSFW by a sidecar.
    A flag with no rating could be anything, so it is hidden at every level (the safe side)."""
    return or_(L.c.nsfw_level <= level, and_(L.c.nsfw_level.is_(None), L.c.nsfw.is_(False)))


def state_is(state: str, host: str | None):
    """The LoRA's state is `state` as this host sees it: several hosts sharing the library each have their own
    (a file missing here may be present on another host); a LoRA this host has no location for shows the
    library's. One host: the row's state. The trash is the library's, whatever the host."""
    if not host or state == "trashed":
        return L.c.state == state
    from .host_models import FileLocation

    FL = FileLocation.__table__
    located = select(FL.c.lora_id).where(FL.c.host_id == host)
    return or_(L.c.id.in_(located.where(FL.c.state == state)), and_(L.c.state == state, L.c.id.not_in(located)))


def under_path(q, dialect: str, host: str | None = None):
    """A folder of a root said as a range of the unique path index: every file in `<root>/<folder>/` or
    below sorts between that prefix and the same prefix with its last separator raised by one.
    None where the range would not be exact: not SQLite (PostgreSQL's index follows the database's collation,
    not bytes), several hosts (each sees its own paths), or the trashed listed (a trashed row's path is the
    file in the trash). The root's own column stays beside it. With it a folder's count reads the folder's
    rows, found in the path index, instead of every wide row of the table. Not for a whole root: its rows
    visited in path order cost twice the table read in storage order (100k LoRAs: 430 ms against 210 ms)."""
    folder = (q.folder or "").strip("/")
    trash_listed = q.state == "trashed" or q.missing is False or q.broken is False
    if dialect != "sqlite" or host or not q.root or not folder or trash_listed:
        return None
    prefix = os.path.join(q.root, *folder.split("/")) + os.sep
    return and_(L.c.path >= prefix, L.c.path < prefix[:-1] + chr(ord(os.sep) + 1))


def _place(q, dialect: str, host: str | None, by_path: bool, walk: bool = False) -> list:
    """The root and folder asked for: a range of paths (`by_path`, where exact), else the columns. `walk`
    (SQLite): the root said so that no index answers it (`root || ''`), for a page that walks its sort's
    index instead; SQLite has no statistics, and with an index on the root (`ix_loras_place`, for counts)
    it would read every row of a large root and sort them (100k LoRAs in one root: seconds)."""
    below = under_path(q, dialect, host) if by_path else None
    # a folder's path range is the index to read: the root beside it is only checked
    root = L.c.root.concat("") if (walk or below is not None) and dialect == "sqlite" else L.c.root
    conds = [root == q.root] if q.root else []  # a root inside another, or a folder asked as a root
    if below is not None:
        return [*conds, below]
    if q.folder:
        folder = q.folder.strip("/")
        conds.append(or_(L.c.folder == folder, L.c.folder.startswith(folder + "/", autoescape=True)))
    return conds


def conditions(q, dialect: str, host: str | None = None, by_path: bool = False, walk: bool = False,
               by_names: bool = False) -> list:
    """WHERE conditions of a LoraQuery (`host`: this host's id when several share the library; `by_path`:
    a root and folder said as a range of paths where that is exact, `under_path`; `walk`: see `_place`;
    `by_names`: see `broad_search`)."""
    conds: list = []
    match = match_clause(dialect, q.query, L.c.id + 0 if by_names else L.c.id)
    if by_names:
        conds.append(L.c.sort_name >= "")  # every row (never null): the range that picks the name index
    if match is not None:
        conds.append(match)
    if q.base:
        # The detected family, unless the user overrode it, or the user's override. Said
        # this way (overrides are few) a count searches the filter index instead of joining
        # every row to the user table (at 100k rows: a scan of the whole index).
        overridden = select(U.c.lora_id).where(U.c.base_override.is_not(None))
        chosen = select(U.c.lora_id).where(U.c.base_override == q.base)
        conds.append(or_(and_(L.c.base_family == q.base, L.c.id.not_in(overridden)), L.c.id.in_(chosen)))
    for tag in q.tags:
        conds.append(L.c.id.in_(tagged([norm_tag(tag)])))
    excluded = [norm_tag(t) for t in q.exclude_tags if t.strip()]
    if excluded:
        conds.append(L.c.id.not_in(tagged(excluded)))
    if q.untagged is not None:
        conds.append(L.c.id.not_in(tagged()) if q.untagged else L.c.id.in_(tagged()))
    conds.extend(_place(q, dialect, host, by_path, walk))
    if q.favorite is not None:
        # favorites are few: look them up in the user table instead of joining every row
        favs = L.c.id.in_(select(U.c.lora_id).where(U.c.favorite.is_(True)))
        conds.append(favs if q.favorite else ~favs)
    if q.has_preview is not None:
        conds.append((L.c.preview_count > 0) == q.has_preview)
    if q.has_triggers is not None:
        conds.append(has_triggers() if q.has_triggers else ~has_triggers())
    if q.nsfw is not None:
        conds.append(L.c.nsfw.is_(q.nsfw))
    if q.nsfw_max is not None:
        conds.append(level_at_most(q.nsfw_max))
    if q.missing is not None:
        conds.append(state_is("missing", host) if q.missing else ~state_is("missing", host))
    if q.broken is not None:
        conds.append(state_is("broken", host) if q.broken else ~state_is("broken", host))
    if q.duplicate is not None:
        # ids from the narrow hash table (its copy of the state included), then rows by id
        dup = L.c.id.in_(select(H.c.lora_id).where(H.c.state.in_(PRESENT), H.c.sha256.in_(dup_hashes())))
        conds.append(dup if q.duplicate else ~dup)
    if q.network_type:
        conds.append(func.lower(L.c.network_type) == q.network_type.lower())
    if q.ids is not None:
        conds.append(L.c.id.in_(list(q.ids)[:MAX_IDS]))
    if q.update_available is not None:
        newer = L.c.id.in_(with_update())  # the few flagged ids, as favourites
        conds.append(newer if q.update_available else ~newer)
    if q.state:
        conds.append(state_is(q.state, host))
    elif q.missing is None and q.broken is None:
        conds.append(NOT_TRASHED)
    return conds


# Filters a page read from the name index (sort_name, id) can answer without a row: they test the id only.
_ID_FILTERS = {"query", "tags", "exclude_tags", "untagged", "favorite", "sort", "favorites_first", "fields",
               "raw_json", "limit", "offset", "cursor"}


def broad_search(q, dialect: str, host: str | None) -> bool:
    """Whether a search may be counted and paged from the name index (sort_name, id), every entry tested against
    the matches' ids, rather than by reading each match's wide row: a search sorted by name on SQLite where every
    other filter tests the id alone, and not with several hosts. Worth it when the matches may be a tenth of the
    library or more (`match_bound`; a substring such as "ight": 34k of 100k LoRAs, the page 137 ms against 53 ms;
    for 419 matches the rows win, 3 ms against 17)."""
    if dialect != "sqlite" or host or q.sort.lstrip("-") != "name" or not terms(q.query):
        return False
    return _only(q, _ID_FILTERS)


def _only(q, allowed) -> bool:
    """Every field of `q` outside `allowed` is left at its default."""
    for f in dataclasses.fields(q):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if f.name not in allowed and getattr(q, f.name) != default:
            return False
    return True


def match_bound(conn, query: str) -> int:
    """At least as many rows as a SQLite search of `query` matches, read from the words' indexes alone (a few ms):
    for each word its substring hits plus its word-prefix hits, the fewest of any word."""
    counts = []
    for w in terms(query):
        n = conn.execute(text("SELECT count(*) FROM loras_fts WHERE loras_fts MATCH :w"), {"w": f'"{w}"*'}).scalar()
        if len(w) >= MIN_INFIX:
            n += conn.execute(text("SELECT count(*) FROM loras_fts_tri WHERE loras_fts_tri MATCH :w"),
                              {"w": f'"{w}"'}).scalar()
        counts.append(int(n or 0))
    return min(counts) if counts else 0


_WORDS_ONLY = frozenset(("query", "sort", "favorites_first", "fields", "raw_json", "limit", "offset", "cursor"))


def words_only(q, dialect: str, host: str | None) -> bool:
    """A SQLite search with no other filter (the listed rows only), with one host: counted from the word indexes'
    ids alone (search.count_sqlite_matches)."""
    return dialect == "sqlite" and not host and bool(terms(q.query)) and _only(q, _WORDS_ONLY)
