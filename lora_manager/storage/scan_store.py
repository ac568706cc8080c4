"""Writes made by scans and the hasher: file facts, states, hashes, moves."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, nullcontext
from operator import attrgetter
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, update

from ..library.names import prompt_name
from .at_once import AtOnce
from .base import H, L, LH, T, U, chunks, utcnow
from .bulk_load import indexes_deferred
from .db import Db
from .failures import retry_conflicts
from .hash_writes import ADOPTABLE, any_found, any_missing, civitai_changed, found_lookups, tags_turn, write_hashes
from .hash_models import HASH_COLUMNS, HASH_PENDING
from .models import CollectionItem
from .scan_rows import HashResult, IndexRow
from .search import search_text

CI = CollectionItem.__table__
_BY_ID = attrgetter("id")
PRESENT = ("ok", "broken", "unsupported")
# On disk, LoRA or not: "other" is an embedding, VAE, checkpoint or upscaler kept out of the LoRA list.
ON_DISK = (*PRESENT, "other")
# Rows a scan rewrites in one transaction: short enough that an edit waiting for SQLite's
# single writer waits a few milliseconds, not for a whole batch of wide rows.
UPDATE_PART = 50
HASHABLE = ("ok", "unsupported")
# Columns a probe produces; everything else on a row belongs to identity, hashes or bookkeeping.
FACT_COLUMNS = (
    "path", "root", "folder", "file_name", "prompt_name", "ext", "size", "mtime_ns", "companion_sig", "state", "error",
    "header_digest", "header_hash", "title", "alias", "network_type", "rank", "alpha", "base_family", "base_label",
    "base_source", "description", "author", "trained_started", "trained_finished", "resolution", "cover_mime",
    "triggers", "training_tags", "source_tags", "meta", "sidecars", "previews", "preview_count", "suggested",
    "nsfw_level",
)
def dup_hashes():
    """Full hashes shared by more than one file present at a path."""
    return (select(H.c.sha256).where(H.c.state.in_(PRESENT), H.c.sha256.is_not(None))
            .group_by(H.c.sha256).having(func.count() > 1))


class ScanStore(ABC):
    """What scans and the hasher read and write: the index of files, their facts, states and hashes."""

    @abstractmethod
    def file_index(self) -> dict[str, IndexRow]:
        """{path: IndexRow} for every known file: what a rescan compares stat results against."""

    @abstractmethod
    def insert_files(self, rows: list[dict[str, Any]]) -> int | None:
        """Add new files (probe rows); committed in parts, each part whole or not at all. (Several
        hosts: returns how many were LoRAs the library knew, location_store.py.)"""

    @abstractmethod
    def update_files(self, updates: list[tuple[int, dict[str, Any]]], *,
                     moved_from: dict[int, tuple[str, str | None]] | None = None,
                     expect: dict[int, tuple[str, int, int]] | None = None) -> list[int]:
        """Rewrite the file facts of existing rows, hashes left alone; a row changed since `expect`
        ({id: (path, size, mtime_ns)}) is skipped. Returns the ids written."""

    @abstractmethod
    def mark_missing(self, ids: list[int], offline: bool = False, *,
                     expect: dict[int, tuple[str, int, int]] | None = None) -> list[int]:
        """Flag present rows missing (their user data kept); `expect` as in update_files. Returns the ids flagged."""

    @abstractmethod
    def pending_hashes(self, limit: int = 1000, after: int = 0) -> list[tuple[int, str, int]]:
        """Up to `limit` (id, path, size) of rows waiting for a hash, ids above `after`, in id order."""

    @abstractmethod
    def pending_hash_totals(self) -> tuple[int, int]:
        """(files, bytes) waiting for a hash."""

    @abstractmethod
    def save_hashes(self, results: list[HashResult], stale: list[HashResult] | None = None,
                    stored: list[int] | None = None) -> list[int]:
        """Store hashes and reconcile identity by hash (a new file whose hash a missing entry has is
        that entry, moved). A result for a file that changed since is appended to `stale`; the ids of
        the rows that hold the hashes stored (the entry a new file turned out to be, in place of the
        row merged into it) to `stored`. Returns the ids of rows merged away."""

    @abstractmethod
    def duplicate_count(self) -> int:
        """Files present at a path whose full hash another present file shares."""

    def cold_load(self, lock) -> AbstractContextManager[bool]:
        """Around the inserts of a first index into an empty library: where the store can, indexes are built
        once at the end rather than row by row, under `lock` (storage/bulk_load.py). Yields whether it does."""
        return nullcontext(False)


class SqlScanStore(ScanStore):
    def __init__(self, db: Db):
        self.db = db
        # The hasher's two reads, built once and read in one step beside the hashing threads (storage/at_once.py).
        self._pending = AtOnce(
            select(H.c.lora_id, L.c.path, H.c.size).select_from(LH)
            .where(self._needs_hash(), H.c.lora_id > bindparam("after", 0)).order_by(H.c.lora_id)
            .limit(bindparam("limit", 1)))
        # Rows still waiting for their hash, from the hash rows' partial index (the LoRA's header and previous
        # hash by key); an id range (rather than a list) lets SQLite take that index instead of the table's rowids.
        self._waiting = AtOnce(
            select(H.c.lora_id, H.c.size, H.c.mtime_ns, L.c.header_hash, L.c.prev_sha256).select_from(LH)
            .where(self._needs_hash(), H.c.lora_id.between(bindparam("lo", 0), bindparam("hi", 0))))

    def cold_load(self, lock) -> AbstractContextManager[bool]:
        return indexes_deferred(self.db.engine, lock)

    def file_index(self) -> dict[str, IndexRow]:
        """{path: IndexRow} for every known file: what a rescan compares stat results against."""
        cols = (L.c.path, L.c.id, L.c.size, L.c.mtime_ns, L.c.companion_sig, L.c.state, L.c.header_digest, H.c.sha256)
        with self.db.engine.connect() as conn:
            return {r[0]: IndexRow(*r[1:]) for r in conn.execute(select(*cols).select_from(LH))}

    def insert_files(self, rows: list[dict[str, Any]]) -> None:
        now = utcnow()
        for part in chunks(rows, 2000):
            for row in part:
                if "search_text" not in row:
                    row["search_text"] = search_text(row)
                row["added_at"] = row["updated_at"] = now
            self._insert_part(part)

    @retry_conflicts  # one transaction per part: a retry never repeats a part already committed
    def _insert_part(self, part: list[dict[str, Any]]) -> None:
        with self.db.engine.begin() as conn:
            self.db.insert_rows(conn, part)

    def update_files(self, updates: list[tuple[int, dict[str, Any]]], *,
                     moved_from: dict[int, tuple[str, str | None]] | None = None,
                     expect: dict[int, tuple[str, int, int]] | None = None) -> list[int]:
        """Rewrite file facts of existing rows (changed, returned or moved files). Returns the ids written.

        Hash columns are left alone: they stay valid while (size, mtime) match
        hashed_size/hashed_mtime_ns, and the hasher redoes them otherwise.
        With `expect` ({id: (path, size, mtime_ns)} as the scan read the
        index), a row that a file operation or another process changed
        meanwhile is left as it is now; the next scan sees it afresh.
        Written in parts of UPDATE_PART rows, one short transaction each: an edit
        made meanwhile waits for one part, never for the whole batch (docs/performance-api.md).
        """
        ordered = sorted(updates, key=lambda u: u[0])
        written: list[int] = []
        for start in range(0, len(ordered), UPDATE_PART):
            written += self._update_part(ordered[start:start + UPDATE_PART], moved_from or {}, expect)
        return written

    @retry_conflicts  # one transaction per part: a retry never repeats a part already committed
    def _update_part(self, updates: list[tuple[int, dict[str, Any]]], moved_from: dict[int, tuple[str, str | None]],
                     expect: dict[int, tuple[str, int, int]] | None) -> list[int]:
        now = utcnow()
        with self.db.engine.begin() as conn:
            current = self._lock_facts(conn, [lid for lid, _ in updates])
            written: list[int] = []
            alike: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # rows of the same columns: one executemany
            for lid, row in sorted(updates, key=lambda u: u[0]):
                if lid not in current or (expect is not None and lid in expect and current[lid] != expect[lid]):
                    continue
                values = {k: row[k] for k in FACT_COLUMNS if k in row}
                values.update(updated_at=now, missing_since=None, offline=False)
                if lid in moved_from:
                    values["moved_from"], values["prev_sha256"] = moved_from[lid]
                alike.setdefault(tuple(values), []).append({**values, "_id": lid})
                written.append(lid)
            for rows in alike.values():  # the SET clause names the rows' keys (all but `_id`)
                conn.execute(update(L).where(L.c.id == bindparam("_id")), rows)
            self.db.refresh_search(conn, written)
        return written

    @retry_conflicts
    def mark_missing(self, ids: list[int], offline: bool = False, *,
                     expect: dict[int, tuple[str, int, int]] | None = None) -> list[int]:
        """Flag present rows missing (kept with their user data); `expect` as in update_files.
        Returns the ids flagged."""
        now = utcnow()
        flagged: list[int] = []
        with self.db.engine.begin() as conn:
            current = self._lock_facts(conn, ids)
            keep = [i for i in sorted(current) if expect is None or i not in expect or current[i] == expect[i]]
            for part in chunks(keep):
                flagged += conn.execute(
                    update(L)
                    .where(L.c.id.in_(part), L.c.state.in_(ON_DISK))
                    .values(state="missing", missing_since=now, offline=offline)
                    .returning(L.c.id)
                ).scalars()
        return flagged

    def _lock_facts(self, conn, ids) -> dict[int, tuple[str, int, int]]:
        """{id: (path, size, mtime_ns)} of existing rows, locked in id order (as every writer takes them)."""
        out: dict[int, tuple[str, int, int]] = {}
        for part in chunks(sorted(set(ids))):
            q = (
                select(L.c.id, L.c.path, L.c.size, L.c.mtime_ns)
                .where(L.c.id.in_(part))
                .order_by(L.c.id)
                .with_for_update()
            )
            out.update((r[0], (r[1], r[2], r[3])) for r in conn.execute(q))
        return out

    # --- hashing -------------------------------------------------------
    def _needs_hash(self):
        # The first term is the predicate of the partial index ix_lora_hashes_pending (hash_models.py), which
        # holds only rows waiting for a hash; the hash row's state and size are its LoRA's (kept by triggers).
        # The state and size tests are wrapped so that no planner takes another index for them instead.
        return and_(
            HASH_PENDING, func.coalesce(H.c.state, "").in_(HASHABLE), func.coalesce(H.c.size, 0) > 0,
        )

    def pending_hashes(self, limit: int = 1000, after: int = 0) -> list[tuple[int, str, int]]:
        """Up to `limit` rows waiting for a hash, by id, with ids above `after` (keyset): a pass walks the table
        once, each call costing the same however far it has come (docs/performance-hashing.md)."""
        with self.db.engine.connect() as conn:
            return sorted(self._pending.rows(conn, after=after, limit=limit))

    def pending_hash_totals(self) -> tuple[int, int]:
        with self.db.engine.connect() as conn:
            n, size = conn.execute(
                select(func.count(), func.coalesce(func.sum(H.c.size), 0)).where(self._needs_hash())
            ).one()
        return int(n), int(size)

    @retry_conflicts
    def save_hashes(self, results: list[HashResult], stale: list[HashResult] | None = None,
                    stored: list[int] | None = None) -> list[int]:
        """Store hashes, then reconcile identity by hash. Returns ids whose rows were merged away.

        A result whose (size, mtime) is not the row's any more (the file changed
        after the walk) is not stored; it is appended to `stale` when given. The ids of the
        rows holding the hashes stored are appended to `stored` when given (after the commit).
        """
        merged: list[int] = []
        held: list[int] = []
        # A row that is not waiting for its hash any more needs nothing from its result.
        ids = {r.id for r in results}
        with self.db.engine.begin() as conn:
            current = {}
            if ids:
                tags_turn(conn, self.db.dialect)  # a Civitai record stored meanwhile is seen (hash_writes.py)
                # {id: (id, size, mtime_ns, header_hash, prev_sha256)}, as read: no object made a row
                current = {row[0]: row for row in self._waiting.rows(conn, lo=min(ids), hi=max(ids)) if row[0] in ids}
            errors: list[dict[str, Any]] = []
            done: list[tuple[HashResult, tuple]] = []
            for r in sorted(results, key=_BY_ID):  # written in id order (storage/hash_writes.py)
                cur = current.get(r.id)
                if cur is None:
                    continue
                if r.error is not None:
                    # Recorded against the size/mtime we know, so the row reads
                    # "hash failed" until the file changes or a rescan retries it.
                    errors.append({"i": r.id, "e": r.error})
                elif (cur[1], cur[2]) != (r.size, r.mtime_ns):
                    if stale is not None:
                        stale.append(r)
                else:
                    done.append((r, cur))
            if errors:
                conn.execute(update(H).where(H.c.lora_id == bindparam("i")).values(hash_error=bindparam("e")), errors)
            written = {r.id: r.sha256 for r, _ in done if r.sha256}
            looked = written if written and any_found(conn) else {}  # no Civitai record at all: no tags move
            before = found_lookups(conn, list(looked))  # Civitai records of the rows' hashes until now
            # Straight to the driver, in one statement on SQLite (storage/hash_writes.py).
            write_hashes(conn, self.db.dialect, [
                (r.size, r.mtime_ns, r.sha256, r.tensor_sha256, r.legacy,
                 # sshs_model_hash stood in for the tensor hash until now; say whether it was true.
                 None if not cur[3] else cur[3] == r.tensor_sha256, r.id)
                for r, cur in done])
            self.db.refresh_search(conn, civitai_changed(conn, looked, before))  # model tags follow the hash
            # Only a hash a missing entry has can make a new file that entry, moved (none missing: no look-up).
            shas = sorted({r.sha256 for r, c in done if r.sha256 and not c[4]}) if any_missing(conn) else []
            adoptable: set[str] = set()
            for part in chunks(shas):
                adoptable.update(conn.execute(select(H.c.sha256).select_from(LH).where(
                    H.c.sha256.in_(part), ADOPTABLE)).scalars())
            for r, cur in done:
                if not r.sha256:
                    continue
                holder, prev_sha256 = r.id, cur[4]
                if prev_sha256 and prev_sha256 != r.sha256:
                    moved_from = conn.execute(select(L.c.moved_from).where(L.c.id == r.id)).scalar()
                    holder = self._undo_move(conn, r.id, moved_from, prev_sha256)
                elif prev_sha256:
                    conn.execute(update(L).where(L.c.id == r.id).values(prev_sha256=None))
                elif r.sha256 in adoptable:
                    kept = self._adopt(conn, r.id, r.sha256)
                    if kept is not None:
                        merged.append(r.id)
                        holder = kept
                held.append(holder)
        if stored is not None:
            stored.extend(held)
        return merged

    def _adopt(self, conn, new_id: int, sha256: str) -> int | None:
        """A new file whose full hash equals a missing entry's is that entry, moved.

        Entries on an offline root are left alone: the original may still
        exist there. The old row keeps its id and user data and takes over the new file's
        facts; the new row goes. Returns the id that was kept (None: no entry adopted).
        """
        old = conn.execute(
            select(L.c.id).select_from(LH)
            .where(H.c.sha256 == sha256, ADOPTABLE, L.c.id != new_id)
            .order_by(L.c.id).limit(1)
        ).scalar()
        if old is None:
            return None
        values, hashes = _facts_and_hashes(conn, new_id)
        old_path = conn.execute(select(L.c.path).where(L.c.id == old)).scalar()
        self._merge_user(conn, src=new_id, dst=old)
        conn.execute(delete(L).where(L.c.id == new_id))
        conn.execute(update(L).where(L.c.id == old).values(**values, moved_from=old_path, missing_since=None,
                                                           updated_at=utcnow()))
        conn.execute(update(H).where(H.c.lora_id == old).values(**hashes))
        self.db.refresh_search(conn, [old])
        return old

    def _merge_user(self, conn, src: int, dst: int) -> None:
        """Carry anything the user did to `src` onto `dst` without losing either side."""
        for (tag,) in conn.execute(select(T.c.tag).where(T.c.lora_id == src)).all():
            conn.execute(delete(T).where(T.c.lora_id == dst, T.c.tag == tag))
            conn.execute(T.insert().values(lora_id=dst, tag=tag))
        for (cid,) in conn.execute(select(CI.c.collection_id).where(CI.c.lora_id == src)).all():
            conn.execute(delete(CI).where(CI.c.lora_id == dst, CI.c.collection_id == cid))
            conn.execute(CI.insert().values(lora_id=dst, collection_id=cid))
        src_user = conn.execute(select(U).where(U.c.lora_id == src)).mappings().first()
        if not src_user:
            return
        dst_user = conn.execute(select(U).where(U.c.lora_id == dst)).mappings().first()
        if not dst_user:
            conn.execute(U.insert().values(**{**dict(src_user), "lora_id": dst}))
            return
        # Both sides have user data: what dst says stands, src fills its gaps.
        fill = {k: v for k, v in src_user.items()
                if k not in ("lora_id", "updated_at") and v not in (None, False) and dst_user[k] in (None, False)}
        if fill:
            conn.execute(update(U).where(U.c.lora_id == dst).values(**fill, updated_at=utcnow()))

    def _undo_move(self, conn, lid: int, old_path: str | None, old_sha: str) -> int:
        """The header matched but the full hash does not: it was not the same file.

        The row returns to its old path as missing (with its user data), and
        the file on disk becomes a new entry (its id returned).
        """
        row, hashes = _facts_and_hashes(conn, lid)
        new_row = {**row, **hashes}
        new_row.update(search_text=search_text(new_row), added_at=utcnow(), updated_at=utcnow())
        old_path = old_path or f"{row['path']}#moved-{lid}"
        name = os.path.basename(old_path)
        folder = (
            os.path.relpath(os.path.dirname(old_path), row["root"]) if old_path.startswith(row["root"] + os.sep) else ""
        )
        conn.execute(
            update(L).where(L.c.id == lid).values(
                path=old_path, file_name=name, prompt_name=prompt_name(name),
                folder="" if folder == "." else folder.replace(os.sep, "/"),
                state="missing", missing_since=utcnow(), moved_from=None, prev_sha256=None,
            )
        )
        conn.execute(update(H).where(H.c.lora_id == lid).values(
            sha256=old_sha, tensor_sha256=None, legacy_hash=None, hashed_size=None, hashed_mtime_ns=None))
        [new_id] = self.db.insert_rows(conn, [new_row])
        self.db.refresh_search(conn, [lid, new_id])  # the new entry's model tags: its hash's Civitai record too
        return new_id

    def duplicate_count(self) -> int:
        """Files present at a path whose full hash another present file shares."""
        with self.db.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).where(H.c.state.in_(PRESENT), H.c.sha256.in_(dup_hashes()))).scalar()
            )


def _facts_and_hashes(conn, lid: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A row's file facts (`loras`) and its hashes (`lora_hashes`)."""
    facts = dict(conn.execute(select(*[L.c[c] for c in FACT_COLUMNS]).where(L.c.id == lid)).mappings().one())
    hashes = dict(conn.execute(select(*[H.c[c] for c in HASH_COLUMNS]).where(H.c.lora_id == lid)).mappings().one())
    return facts, hashes
