"""Sync: the index follows the disk and never loses user data.

Each scan classifies every file: new, unchanged (stat alone), changed,
moved/renamed (same size and header; confirmed by the full hash later),
returned (was missing), missing (kept with its user data), broken.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any
from collections.abc import Callable, Iterator

from ..library.probe import probe_many
from ..library.records import ProbeResult
from ..library.probe_pool import ProbePool, WorkerDied
from ..library.walker import FileEntry, walk
from ..storage.catalog_store import CatalogStore
from ..hosts.root_guard import no_guard
from ..storage.scan_store import ON_DISK, ScanStore

log = logging.getLogger(__name__)
POOL_THRESHOLD = 200  # below this, worker start-up costs more than it saves
CHUNK = 100
INSERT_BATCH = 2000
# A first index of at least this many files into an empty library builds its indexes once, after the rows
# (storage/bulk_load.py); below one batch there is nothing to gain.
COLD_LOAD_MIN = INSERT_BATCH

Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class ScanReport:
    """A scan's counts (GET /scans/last adds how and when it ended; its schema is built from these fields)."""

    total: int = 0
    new: int = 0
    unchanged: int = 0
    changed: int = 0
    moved: int = 0
    returned: int = 0
    missing: int = 0
    duplicate: int = 0
    broken: int = 0
    unsupported: int = 0
    other: int = field(default=0,
                       metadata={"description": "files that are not LoRAs: embeddings, VAEs, checkpoints, upscalers"})
    unavailable_roots: list[str] = field(default_factory=list)
    skipped_roots: list[str] = field(default_factory=list, metadata={
        "description": "roots another host kept scanning (several hosts, one library): left as they were"})
    errors: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Scanner:
    def __init__(self, scan_store: ScanStore, catalog_store: CatalogStore, roots: list[str], *, workers: int = 2,
                 skip: set[str] | None = None, write_lock: threading.Lock | None = None,
                 link_targets: list[str] | None = None, guard=None):
        self.scan_store = scan_store
        self.catalog_store = catalog_store  # the counts by state a report ends with
        self.roots = [os.path.abspath(r) for r in roots]
        self.link_targets = list(link_targets or ())
        self.workers = max(1, workers)
        self.skip = skip or set()
        # Held while the scan re-checks files and writes them: file operations
        # (FileOps.lock) never run in between (docs/data-safety.md).
        self.write_lock = write_lock or threading.Lock()
        # Several hosts, one library: `with guard(roots) as skipped` holds each shared root for this
        # scan (hosts/root_guard.py); one host has nothing to wait for.
        self.guard = guard or no_guard

    def scan(self, progress: Progress | None = None, rewritten: list[int] | None = None) -> ScanReport:
        """Bring the index in line with the disk. `rewritten`, when given, receives the ids of the existing
        rows this scan wrote anew (changed, moved or returned files): what needs a second look afterwards."""
        early = _EarlyPool(self.workers if self.workers > 1 and not any(self.catalog_store.counts().values()) else 0)
        try:
            with self.guard(self.roots) as skipped:
                return self._scan([r for r in self.roots if r not in skipped], sorted(skipped), progress, early,
                                  [] if rewritten is None else rewritten)
        finally:
            early.close()

    def _scan(self, roots: list[str], skipped: list[str], progress: Progress | None, early: _EarlyPool,
              rewritten: list[int]) -> ScanReport:
        started = time.perf_counter()
        report = ScanReport(skipped_roots=skipped)
        walked = walk(roots, self.skip, self.link_targets, on_folder=early.found)
        report.unavailable_roots = walked.unavailable_roots
        report.errors = [{"path": p, "error": e} for p, e in walked.errors]
        index = self.scan_store.file_index()
        if skipped:  # another host's scan holds these roots: their entries are not this scan's
            away = tuple(r.rstrip(os.sep) + os.sep for r in skipped)
            index = {p: row for p, row in index.items() if not p.startswith(away)}
        report.total = len(walked.files)

        to_probe, kind = _to_probe(walked.files, index, report)

        seen = {e.path for e in walked.files}
        offline = tuple(r.rstrip(os.sep) + os.sep for r in walked.unavailable_roots)
        # Entries under an offline root are flagged missing like any other,
        # but they are never claimed as the origin of a "moved" file.
        vanished = [(path, row) for path, row in index.items() if path not in seen and row.state in ON_DISK]
        candidates = _move_candidates(vanished, index, offline)

        cold = not index and len(to_probe) >= COLD_LOAD_MIN
        with self.scan_store.cold_load(self.write_lock) if cold else nullcontext(False):
            claimed: set[int] = set()
            pending: list[ProbeResult] = []
            received = 0
            # Rows are written as the workers hand them over, so the database work
            # overlaps with header reading; new rows go in batches of INSERT_BATCH,
            # since every transaction adds a segment to the full-text index.
            for results in self._probe(to_probe, progress, early.pool):
                inserts: list[ProbeResult] = []
                updates: list[tuple[int, ProbeResult]] = []
                moved_from: dict[int, tuple[str, str | None]] = {}
                for result in results:
                    what = kind[result.path]
                    if what == "new":
                        match = _claim(candidates, result)
                        if match is not None:
                            lid, old_path, old_sha, old_mtime = match
                            updates.append((lid, result))
                            # A rename keeps mtime: same size, header and mtime is the
                            # same file. A copy gets a new mtime: the hasher re-checks it
                            # against the old full hash and undoes the move if it differs.
                            moved_from[lid] = (old_path, old_sha if result.mtime_ns != old_mtime else None)
                            report.moved += 1
                            continue
                        inserts.append(result)
                        report.new += 1
                    else:
                        updates.append((index[result.path].id, result))
                        setattr(report, what, getattr(report, what) + 1)
                if updates:
                    whats = {lid: ("moved" if lid in moved_from else kind[result.path]) for lid, result in updates}
                    # What each row was when the index was read: a row a file operation (or
                    # another process) moved or rewrote meanwhile is not overwritten.
                    expect = {lid: _as_read(index, moved_from[lid][0] if lid in moved_from else result.path)
                              for lid, result in updates}
                    with self.write_lock:
                        fresh = [(lid, result.as_row()) for lid, result in updates if _unchanged_on_disk(result)]
                        rewritten.extend(written := set(self.scan_store.update_files(fresh, moved_from=moved_from,
                                                                                      expect=expect)))
                    for lid, what in whats.items():
                        if lid not in written:  # changed meanwhile: left for the next scan, not counted
                            setattr(report, what, getattr(report, what) - 1)
                            moved_from.pop(lid, None)
                pending.extend(inserts)
                received += len(results)
                # Near the end, rows go in as they come: what is left after the last result is one chunk,
                # not up to a whole batch written while the header workers already stand idle.
                if len(pending) >= INSERT_BATCH or (pending and len(to_probe) - received <= self.workers * CHUNK):
                    self._insert(pending, report)
                    pending = []
                claimed.update(moved_from)
            if pending:
                self._insert(pending, report)
        gone = [
            row.id for path, row in vanished if row.id not in claimed and not (offline and path.startswith(offline))
        ]
        away = [row.id for path, row in vanished if offline and path.startswith(offline)]

        by_id = {row.id: path for path, row in vanished}
        expect = {row.id: _as_read(index, path) for path, row in vanished}
        with self.write_lock:
            # A file that is back (or was moved here by a file operation) since the walk is not missing.
            flagged = (
                self.scan_store.mark_missing([i for i in gone if not os.path.lexists(by_id[i])], expect=expect)
                if gone
                else []
            )
            flagged += self.scan_store.mark_missing([i for i in away if not os.path.lexists(by_id[i])], offline=True,
                                                    expect=expect) if away else []
        report.missing = len(flagged)
        counts = self.catalog_store.counts()
        report.broken = counts["broken"]
        report.unsupported = counts["unsupported"]
        report.other = counts["other"]
        report.duplicate = self.duplicate_count()
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def duplicate_count(self) -> int:
        """Files present at a path whose full hash another present file shares (known once hashed)."""
        return self.scan_store.duplicate_count()

    def _insert(self, results: list[ProbeResult], report: ScanReport) -> None:
        """New files, each still on disk as it was read (a file moved away meanwhile is not added)."""
        with self.write_lock:
            fresh = [result.as_row() for result in results if _unchanged_on_disk(result)]
            report.new -= len(results) - len(fresh)
            if fresh:
                # Several hosts: a file another host has already is that LoRA, seen here too (not new to the library)
                known = self.scan_store.insert_files(fresh) or 0
                report.new -= known
                report.unchanged += known

    def _probe(self, entries: list[FileEntry], progress: Progress | None,
               pool: ProbePool | None = None) -> Iterator[list[ProbeResult]]:
        """Yield probe results in chunks: in worker processes for a big batch (`pool`'s when
        started early), else here."""
        total = len(entries)
        done = 0
        if progress:
            progress("read", 0, total)
        parts = [entries[i : i + CHUNK] for i in range(0, total, CHUNK)]
        seen: set[str] = set()
        if total >= POOL_THRESHOLD and self.workers > 1:
            try:
                for results in (pool or ProbePool(self.workers, training_tags=False)).map(parts):
                    seen.update(r.path for r in results)
                    done += len(results)
                    yield results
                    if progress:
                        progress("read", done, total)
                return
            except (WorkerDied, OSError) as exc:
                log.warning("header workers failed (%s); reading in this process", exc)
                parts = [[e for e in part if e.path not in seen] for part in parts]
        for part in parts:
            if part:
                results = probe_many(part)
                done += len(results)
                yield results
                if progress:
                    progress("read", done, total)


class _EarlyPool:
    """Header workers started during the walk of a first, cold index (an empty index: every file
    will be read) once it has found POOL_THRESHOLD files, so their start-up overlaps the rest of
    the walk. `workers` 0: never (a rescan starts them after the walk, only if it needs them)."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool: ProbePool | None = None

    def found(self, files: int) -> None:
        if self.workers and self.pool is None and files >= POOL_THRESHOLD:
            try:
                self.pool = ProbePool(self.workers, training_tags=False).start()
            except OSError as exc:
                log.warning("header workers did not start early (%s)", exc)
            self.workers = 0

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def _to_probe(files: list[FileEntry], index, report: ScanReport) -> tuple[list[FileEntry], dict[str, str]]:
    """The files to read, and what each is: {path: "new" | "changed" | "returned"}; the unchanged are counted."""
    to_probe: list[FileEntry] = []
    kind: dict[str, str] = {}
    for entry in files:
        known = index.get(entry.path)
        if known is None:
            kind[entry.path] = "new"
        elif known.state == "trashed":
            continue  # a file put back by hand over a trashed entry is handled by restore
        elif known.state == "missing":
            kind[entry.path] = "returned"
        elif (known.size, known.mtime_ns, known.companion_sig) == (entry.size, entry.mtime_ns, entry.companion_sig):
            report.unchanged += 1
            continue
        else:
            kind[entry.path] = "changed"
        to_probe.append(entry)
    return to_probe, kind


def _as_read(index, path: str) -> tuple[str, int, int]:
    row = index[path]
    return path, row.size, row.mtime_ns


def _unchanged_on_disk(result: ProbeResult) -> bool:
    """The file is still what the scan read: same path, size and mtime."""
    try:
        st = os.stat(result.path)
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns) == (result.size, result.mtime_ns)


def _move_candidates(vanished, index, offline: tuple[str, ...]) -> dict[tuple, list[tuple[int, str, str | None, int]]]:
    """Rows a new file may be: gone in this scan, or missing since an earlier one.

    Entries on an offline root are never candidates: the original may still
    be there, and a copy elsewhere must not take its user data away.
    """
    out: dict[tuple, list[tuple[int, str, str | None, int]]] = {}
    pool = list(vanished) + [(p, r) for p, r in index.items() if r.state == "missing"]
    for path, row in pool:
        if offline and path.startswith(offline):
            continue
        key = _identity(row.size, row.header_digest, os.path.basename(path))
        out.setdefault(key, []).append((row.id, path, row.sha256, row.mtime_ns))
    return out


def _identity(size: int, digest: str | None, file_name: str) -> tuple:
    # Same size and same header bytes: the header carries every tensor's
    # offsets and the training metadata, so this is the same file in all but
    # freak cases, which the background hash then catches and undoes. Files
    # without a readable header fall back to size and file name.
    return ("h", size, digest) if digest else ("n", size, file_name)


def _claim(candidates, result: ProbeResult) -> tuple[int, str, str | None, int] | None:
    key = _identity(result.size, result.header_digest, result.file_name)
    found = candidates.get(key)
    if found and len(found) == 1:
        return candidates.pop(key)[0]
    return None
