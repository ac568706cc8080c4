"""Background hashing: every file hashed once per (path, size, mtime), on both cores.

A daemon thread walks the pending rows by id in batches, feeds them to
`workers` hashing threads (hashlib releases the GIL on large updates) and
stores results in batches. It never blocks a scan or a
query, and it exits when nothing is left (an idle library costs nothing).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from typing import Any
from collections.abc import Callable

from ..library.hashing import SPLIT_AT, advise, hash_file
from ..library.prefetch import open_ahead
from .background import Rounds
from .reprobe import reprobe
from ..storage.catalog_store import CatalogStore
from ..storage.scan_store import HashResult, ScanStore

log = logging.getLogger(__name__)
SAVE_EVERY_S = 0.5
BATCH = 1000  # rows asked for at a time
NEVER = 1 << 62
# Small files go to the hashing threads in handfuls: one queue hand-over per file cost about a tenth of the
# hashing of 10k small files (docs/performance-hashing.md). A file of SPLIT_AT bytes or more goes alone.
HANDFUL_FILES = 32
HANDFUL_BYTES = 8 << 20


class Hasher(Rounds):
    thread_name = "lora-manager-hasher"

    def __init__(self, scan_store: ScanStore, catalog_store: CatalogStore, *, workers: int = 2,
                 on_event: Callable[[dict[str, Any]], None] | None = None,
                 after_hashing: Callable[[list[int]], Any] | None = None):
        super().__init__()
        self.scan_store = scan_store
        self.catalog_store = catalog_store  # where files are, for those read again (reprobe)
        self.workers = max(1, workers)
        self.on_event = on_event
        # Called once a run has stored every hash, when it stored any: work that wants the hashes (a Civitai model
        # sidecar's version picked again) runs after the hashing, never slowing it (docs/performance-hashing.md).
        # It is given the ids of the LoRAs whose hashes were stored since its last call (a run stopped or failed
        # before its end hands its ids on to the next); the pick itself looks at every LoRA the first time in
        # this process (CivitaiService.resolve_sidecar_versions).
        self.after_hashing = after_hashing
        self._hashed: set[int] = set()  # stored since after_hashing last ran
        self.stored_at: float | None = None  # monotonic time of the last hash stored
        self.done_files = 0
        self.done_bytes = 0
        self.failed = 0
        self.queued_files = 0
        self.queued_bytes = 0
        self.started_at: float | None = None
        # Drop hashed files from the page cache (a large library must not push the host's models out); a file
        # found cached before it was hashed is left as it was found (library/hashing.py, `cached`).
        self.evict_cache = True

    # --- control -------------------------------------------------------
    def pending_totals(self) -> tuple[int, int]:
        """(files, bytes) waiting for a hash, as the index says now."""
        return self.scan_store.pending_hash_totals()

    def status(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started_at if self.started_at and self.running else None
        return {
            "running": self.running,
            "queued_files": self.queued_files,
            "queued_bytes": self.queued_bytes,
            "done_files": self.done_files,
            "done_bytes": self.done_bytes,
            "failed": self.failed,
            "bytes_per_s": round(self.done_bytes / elapsed) if elapsed else None,
        }

    def full_status(self) -> dict[str, Any]:
        """`status()` with the files the index still holds unhashed (reads the database)."""
        pending, pending_bytes = self.pending_totals()
        return {**self.status(), "pending_files": pending, "pending_bytes": pending_bytes}

    # --- work ----------------------------------------------------------
    def _progress(self, n: int) -> None:
        with self._lock:
            self.done_bytes += n

    def _hash_one(self, lid: int, path: str, size: int, alone: bool = False,
                  opened: tuple[int, bool, os.stat_result] | None = None) -> tuple[HashResult, bool]:
        """The file's hashes and whether it held still while read (the same file, size and mtime before and after:
        a file put in its place meanwhile, even with the same size and mtime, is another file).

        `alone`: no other file is waiting, so a big file may take a second core for its tensor digest
        (with files waiting, both cores are busy anyway and the hand-over only costs). `opened`: the file's
        descriptor, whether it was found cached before its handful was asked for, and its fstat (`open_ahead`);
        None: `hash_file` opens it and looks.
        """
        fd, cached, at_open = opened if opened is not None else (None, None, None)
        evict = (None if cached is None else not cached) if self.evict_cache else False
        try:
            h = hash_file(path, self._progress, evict=evict, split_at=SPLIT_AT if alone else NEVER, fd=fd,
                          st=at_open)
            st = os.stat(path)
        except OSError as exc:
            return HashResult(lid, size, -1, error=f"cannot read file: {exc.strerror or exc}"), True
        if (h.size, h.mtime_ns, h.file_id) != (st.st_size, st.st_mtime_ns, (st.st_dev, st.st_ino)):
            return HashResult(lid, st.st_size, st.st_mtime_ns), False  # being written, or replaced: no hash of it
        return HashResult(lid, st.st_size, st.st_mtime_ns, h.sha256, h.tensor_sha256, h.legacy), True

    def _work(self, todo: queue.Queue, done: queue.SimpleQueue) -> None:
        """A hashing thread: handfuls of rows in (`_handfuls`), the handful's results out as one list (one result
        a row) once it is hashed, until it gets None. A stop is heard between files: the rest of a handful is left,
        and the results so far go out."""
        while (items := todo.get()) is not None:
            opened = {}
            if len(items) > 1:  # small files: the handful's reads in flight at once, but for files already cached
                opened = open_ahead((path, size) for _, path, size in items if size)  # (library/prefetch.py)
            out: list[tuple[HashResult, bool]] = []
            try:
                for item in items:
                    if self._stop.is_set():
                        break
                    try:
                        out.append(self._hash_one(*item, alone=len(items) == 1 and todo.empty(),
                                                  opened=opened.pop(item[1], None)))
                    except Exception as exc:  # a bug on one file must not stall the pass waiting for its result
                        log.exception("hashing %s failed", item[1])
                        error = f"cannot hash: {type(exc).__name__}: {exc}"[:500]
                        out.append((HashResult(item[0], item[2], -1, error=error), True))
            finally:
                done.put(out)  # one hand-over a handful (the storing thread takes fewer, docs/performance-hashing.md)
                for fd, warm, _ in opened.values():  # the rest of a handful a stop left: asked for, not read
                    if not warm and self.evict_cache:
                        advise(fd, "POSIX_FADV_DONTNEED")
                    os.close(fd)

    def _run(self) -> None:
        self.started_at = time.monotonic()
        self.queued_files, self.queued_bytes = self.scan_store.pending_hash_totals()
        self._emit("hash.started")
        reprobed: set[int] = set()  # files read again this run: once each
        todo: queue.Queue = queue.Queue()
        done: queue.SimpleQueue = queue.SimpleQueue()
        threads = [threading.Thread(target=self._work, args=(todo, done), name=f"lora-manager-hash-{i}", daemon=True)
                   for i in range(self.workers)]
        for t in threads:
            t.start()
        def one_round(first: bool) -> None:
            if not first:  # woken while hashing: a scan may have changed rows the pass had gone by
                n, size = self.scan_store.pending_hash_totals()
                self.queued_files, self.queued_bytes = self.done_files + n, self.done_bytes + size
            self._pass(todo, done, reprobed)

        try:
            self._rounds(one_round)
        except Exception:  # a broken database must not kill the host; the next wake retries
            self._exiting = True
            log.exception("hashing stopped")
            self._emit("hash.failed")
            return
        finally:
            _drain(todo)
            for _ in threads:
                todo.put(None)
            for t in threads:
                t.join()
        if self.after_hashing is not None and not self._stop.is_set():
            self._after_run(self.after_hashing)
        self._emit("hash.finished")

    def _after_run(self, after_hashing: Callable[[list[int]], Any]) -> None:
        """Hand the ids stored so far to `after_hashing`; a run a wake started meanwhile collects its own."""
        with self._lock:
            ids, self._hashed = self._hashed, set()
        if not ids:
            return
        try:
            after_hashing(sorted(ids))
        except Exception:  # a listener's bug is not the hasher's; its ids are handed on to the next run
            log.exception("after-hashing work failed")
            with self._lock:
                self._hashed |= ids

    def _pass(self, todo: queue.Queue, done: queue.SimpleQueue, reprobed: set[int]) -> None:
        """Hash every pending row once, in id order (a keyset walk: no row is asked for twice).

        The threads always have a batch or two queued, so that storing results
        (here, between batches) never leaves them idle.
        """
        after, exhausted, outstanding = 0, False, 0
        results: list[HashResult] = []
        moving: list[int] = []  # changed while read: read their facts again, hash them on a later pass
        last_save = time.monotonic()
        while not self._stop.is_set():
            if outstanding < BATCH and not exhausted:
                batch = self.scan_store.pending_hashes(BATCH, after=after)
                exhausted = len(batch) < BATCH
                if batch:
                    after = batch[-1][0]
                for handful in _handfuls(batch):
                    todo.put(handful)
                outstanding += len(batch)
            if not outstanding:
                break
            try:
                got = done.get(timeout=SAVE_EVERY_S)  # a handful's results
            except queue.Empty:
                got = []
            while len(got) < outstanding and not done.empty():
                got += done.get()
            outstanding -= len(got)
            for res, stable in got:
                if stable:
                    results.append(res)
                else:
                    moving.append(res.id)
            with self._lock:
                self.done_files += len(got)
                self.failed += sum(res.error is not None for res, _ in got)
            if (results or moving) and (time.monotonic() - last_save >= SAVE_EVERY_S or not outstanding):
                self._save(results, moving, reprobed)
                results, moving = [], []
                last_save = time.monotonic()
        if results or moving:
            self._save(results, moving, reprobed)

    def _save(self, results: list[HashResult], moving: list[int], reprobed: set[int]) -> None:
        """Store hashes. A file that changed after the walk has its facts read again, once per
        run; its hash is then stored if it was read from the file as it is now."""
        stale: list[HashResult] = []
        redo: list[HashResult] = []
        stored: list[int] = []  # the LoRAs holding the hashes stored
        self.scan_store.save_hashes(results, stale, stored)
        again = [i for i in sorted({r.id for r in stale} | set(moving)) if i not in reprobed]
        if again:
            reprobed.update(again)
            reprobe(self.scan_store, self.catalog_store, again)
            fresh = set(again)
            redo = [r for r in stale if r.id in fresh]
            if redo:
                self.scan_store.save_hashes(redo, None, stored)
        if stored:
            self.stored_at = time.monotonic()
            with self._lock:
                self._hashed.update(stored)
        self._emit("hash.progress")

    def _emit(self, kind: str) -> None:
        if self.on_event is not None:
            try:
                self.on_event({"type": kind, **self.status()})
            except Exception:  # a listener's bug is not the hasher's
                log.exception("hash event listener failed")


def _handfuls(rows: list[tuple[int, str, int]]) -> list[list[tuple[int, str, int]]]:
    """Pending rows (id, path, size) in id order, as the threads take them: small files together, up to
    HANDFUL_FILES files or HANDFUL_BYTES bytes; a file of SPLIT_AT bytes or more alone (it may take a second
    core for its tensor digest when no other file waits)."""
    out: list[list[tuple[int, str, int]]] = []
    hand: list[tuple[int, str, int]] = []
    weight = 0
    for row in rows:
        size = row[2] or 0
        if size >= SPLIT_AT:
            if hand:
                out.append(hand)
                hand, weight = [], 0
            out.append([row])
            continue
        if hand and (len(hand) >= HANDFUL_FILES or weight + size > HANDFUL_BYTES):
            out.append(hand)
            hand, weight = [], 0
        hand.append(row)
        weight += size
    if hand:
        out.append(hand)
    return out


def _drain(q: queue.Queue) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return
