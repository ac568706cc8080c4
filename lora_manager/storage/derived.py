"""Columns derived from a row's facts and its user data, computed at write time so that reads use an index:
the shown name's sort key, the text substring search reads, the NSFW flag, and the model's own tags as rows
(`lora_model_tags`). New rows get them from `fill` and `insert_model_tags`; changed rows (facts rewritten by a
scan, user tags, triggers or display name edited) from `refresh` (called by `db.refresh_search`).

The model's own tags are its `source_tags` (safetensors metadata, sidecars) and the tags of the Civitai model
stored for its hash (storage/civitai_store.py), so that a record fetched with sidecar writing off counts too,
and a rescan that rewrites `source_tags` keeps them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, delete, select, update

from ..library.sidecar_values import _words
from ..library.searchtext import infix_text, search_text, shown_name, sort_key
from .base import MT, H, L, T, U, chunks
from .civitai_models import CivitaiLookup, CivitaiModel, CivitaiVersion

MAX_MODEL_TAG = 200  # the column's width
FACTS = (L.c.id, L.c.file_name, L.c.prompt_name, L.c.alias, L.c.title, L.c.triggers, L.c.source_tags,
         L.c.description, L.c.sidecars)
DERIVED = ("search_text", "infix_text", "sort_name", "nsfw")


def _json(value: Any) -> Any:
    """Header workers hand rows over with JSON columns already serialised."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return orjson.loads(bytes(value))
    return value


def norm_tag(tag: Any) -> str:
    """A model tag as user tags are kept: lower case, single spaces."""
    return " ".join(str(tag).strip().lower().split())[:MAX_MODEL_TAG] if tag is not None else ""


def model_tags(row: dict[str, Any]) -> list[str]:
    tags = _json(row.get("source_tags")) or []
    return list(dict.fromkeys(t for t in (norm_tag(x) for x in tags if isinstance(x, (str, int, float))) if t))


def civitai_tags(conn, ids: list[int], hashes=None) -> dict[int, list[str]]:
    """The tags of the Civitai model stored for each LoRA's hash (a "found" lookup), normalised as model tags.
    `hashes`: (LoRA id, its sha256) columns of one table, where the hashes are not in `lora_hashes` (a migration
    from before it)."""
    lk, v, m = CivitaiLookup.__table__, CivitaiVersion.__table__, CivitaiModel.__table__
    key, sha = hashes if hashes is not None else (H.c.lora_id, H.c.sha256)
    q = (select(key, m.c.data).select_from(
            sha.table.join(lk, and_(lk.c.sha256 == sha, lk.c.status == "found"))
            .join(v, v.c.version_id == lk.c.version_id).join(m, m.c.model_id == v.c.model_id))
         .where(key.in_(ids)))
    out: dict[int, list[str]] = {}
    for lid, data in conn.execute(q):
        data = _json(data)
        tags = _words(data.get("tags"), dict_key="name") if isinstance(data, dict) else []
        out[lid] = [t for t in (norm_tag(x) for x in tags) if t]
    return out


def is_nsfw(row: dict[str, Any]) -> bool:
    """Flagged NSFW by a sidecar (Civitai's record written beside the file included)."""
    return any(isinstance(s, dict) and s.get("nsfw") is True for s in (_json(row.get("sidecars")) or []))


def derive(row: dict[str, Any], user_tags: Iterable[str] = (), user_triggers: list[str] | None = None,
           display_name: str | None = None) -> dict[str, Any]:
    """The derived columns of one row."""
    plain = {k: _json(row.get(k)) for k in ("file_name", "prompt_name", "alias", "title", "triggers",
                                            "source_tags", "description")}
    tags = sorted(user_tags)
    return {
        "search_text": search_text(plain, tags, user_triggers, display_name),
        "infix_text": infix_text(plain, tags, user_triggers, display_name),
        "sort_name": sort_key(shown_name(display_name, plain["title"], plain["file_name"])),
        "nsfw": is_nsfw(row),
    }


def fill(row: dict[str, Any]) -> None:
    """A new row's derived columns (a new file has no user data yet)."""
    values = derive(row)
    if row.get("search_text"):
        values.pop("search_text")  # computed by the header worker already
    row.update(values)


def insert_model_tags(conn, insert_ignore, ids: list[int], rows: list[dict[str, Any]]) -> None:
    pairs = [(i, t) for i, row in zip(ids, rows, strict=True) for t in model_tags(row)]
    if not pairs:
        return
    if conn.dialect.name == "sqlite":  # straight to the driver, as hashes are written: a cold index writes ~2 per row
        conn.exec_driver_sql("INSERT OR IGNORE INTO lora_model_tags (lora_id, tag) VALUES (?, ?)", pairs)
    else:
        conn.execute(insert_ignore(MT), [{"lora_id": i, "tag": t} for i, t in pairs])


def refresh(conn, insert_ignore, ids: Iterable[int], part_size: int = 500, hashes=None) -> None:
    """Recompute the derived columns and model tags of `ids` inside the caller's transaction: rows read and
    written in id order (docs/data-safety.md), only the changed ones written (SQLite's triggers keep the
    full-text indexes in step)."""
    for part in chunks(sorted(set(ids)), part_size):
        cols = (*FACTS, *(L.c[c] for c in DERIVED))
        rows = conn.execute(select(*cols).where(L.c.id.in_(part)).order_by(L.c.id)).mappings().all()
        tags: dict[int, list[str]] = {}
        for lid, tag in conn.execute(select(T.c.lora_id, T.c.tag).where(T.c.lora_id.in_(part))):
            tags.setdefault(lid, []).append(tag)
        user = {r[0]: (r[1], r[2]) for r in conn.execute(
            select(U.c.lora_id, U.c.triggers, U.c.display_name).where(U.c.lora_id.in_(part)))}
        civitai = civitai_tags(conn, part, hashes)
        have: dict[int, set[str]] = {}
        for lid, tag in conn.execute(select(MT.c.lora_id, MT.c.tag).where(MT.c.lora_id.in_(part))):
            have.setdefault(lid, set()).add(tag)
        changed, gone, added = [], [], []
        for row in rows:
            lid = row["id"]
            triggers, display = user.get(lid, (None, None))
            new = derive(row, tags.get(lid, ()), triggers, display)
            if any(new[k] != row[k] for k in DERIVED):
                changed.append({"b_id": lid, **{f"b_{k}": v for k, v in new.items()}})
            want, old = set(model_tags(row)) | set(civitai.get(lid, ())), have.get(lid, set())
            gone += [(lid, t) for t in old - want]
            added += [{"lora_id": lid, "tag": t} for t in sorted(want - old)]
        if changed:
            conn.execute(update(L).where(L.c.id == bindparam("b_id"))
                         .values(**{k: bindparam(f"b_{k}") for k in DERIVED}), changed)
        for lid, tag in gone:
            conn.execute(delete(MT).where(MT.c.lora_id == lid, MT.c.tag == tag))
        if added:
            conn.execute(insert_ignore(MT), added)
