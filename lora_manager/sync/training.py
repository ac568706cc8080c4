"""Training tags and metadata after the index: a background pass that reads what a large scan left out.

A scan that reads headers in worker processes leaves each row's training tags and stored metadata as
JSON null (ranking `ss_tag_frequency`'s thousands of tags was a third of the probe's time; the metadata
is most of a row's bytes; nothing lists or searches by either, only an entry's detail shows them), so
the library is listed and searchable sooner. After a scan that wrote rows (and the first
scan of a process: rows an earlier one left waiting) this pass reads them: a daemon thread gathers
the waiting rows by id, has each file's header read again (8 + N bytes, usually still in the page
cache) by header worker processes when many wait (the host's process then only writes), and stores
both where the row still has the header read. Readers take null as "none yet" (the entry shows
an empty list and empty metadata); the listeners of `library.changed` (the recommender) hear of the
rows filled in, as after an edit. It exits when nothing is left.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..library.probe_pool import TRAINING, ProbePool, WorkerDied
from ..library.records import LeftOut
from ..library.training_tags import read_left_out_many
from ..storage.training_store import TrainingTagStore, TrainingTodo
from .background import Rounds

log = logging.getLogger(__name__)
BATCH = 200  # rows read and stored at a time in this process (one short write transaction each)
CHUNK = 100  # rows per request to a header worker
PAGE = 5000  # rows asked for at a time while the pass gathers what waits
POOL_THRESHOLD = 200  # fewer waiting rows are read here: starting workers would cost more


class TrainingTagsPass(Rounds):
    thread_name = "lora-manager-training-tags"

    def __init__(self, store: TrainingTagStore, *, workers: int = 2,
                 on_filled: Callable[[list[int]], Any] | None = None):
        super().__init__()
        self.store = store
        self.workers = workers  # header worker processes for a large pass (the scan's own count)
        self.on_filled = on_filled  # ids whose tags were just stored
        self.filled = 0  # rows filled in since this process started
        self.skipped = 0  # rows whose file was unreadable or not the indexed one (the next scan reads them)

    def status(self) -> dict[str, Any]:
        return {"running": self.running, "filled": self.filled, "skipped": self.skipped}

    def _run(self) -> None:
        try:
            self._rounds(lambda _first: self._pass())
        except Exception:  # a broken database must not kill the host; the next scan wakes it again
            self._exiting = True
            log.exception("reading training tags stopped")

    def _pass(self) -> None:
        """Every waiting row once, in id order (keyset: a row skipped here is not asked for again): in
        header worker processes when many wait (off this process, which may be the host's), else here."""
        todo: list[TrainingTodo] = []
        after = 0
        while not self._stop.is_set():
            page = self.store.waiting(after, PAGE)
            if not page:
                break
            todo += page
            after = page[-1].id
        if len(todo) >= POOL_THRESHOLD and self.workers > 1:
            todo = self._pooled(todo)
        for i in range(0, len(todo), BATCH):
            if self._stop.is_set():
                return
            part = todo[i:i + BATCH]
            read = read_left_out_many([(t.id, t.path, t.size, t.header_digest) for t in part])
            self._store(part, [got for _, got in read])
            time.sleep(0)  # let the host's threads in between batches

    def _pooled(self, todo: list[TrainingTodo]) -> list[TrainingTodo]:
        """Read in header workers; return the rows left unread (all but those answered)."""
        by_id = {t.id: t for t in todo}
        requests = [(TRAINING, [(t.id, t.path, t.size, t.header_digest) for t in todo[i:i + CHUNK]])
                    for i in range(0, len(todo), CHUNK)]
        answered: set[int] = set()
        try:
            for results in ProbePool(self.workers).map(requests):
                answered.update(lid for lid, _ in results)
                self._store([by_id[lid] for lid, _ in results], [got for _, got in results])
                if self._stop.is_set():
                    return []
        except (WorkerDied, OSError) as exc:
            log.warning("header workers failed (%s); reading training tags in this process", exc)
        return [t for t in todo if t.id not in answered]

    def _store(self, part: list[TrainingTodo], read: list[LeftOut | None]) -> None:
        """Save what was read (None: the file could not be read or is not the indexed one any more)."""
        done = [(t, got) for t, got in zip(part, read, strict=True) if got is not None]
        self.skipped += len(part) - len(done)
        written = self.store.save(done) if done else []
        self.filled += len(written)
        if written and self.on_filled is not None:
            try:
                self.on_filled(written)
            except Exception:  # a listener's bug is not the pass's
                log.exception("training tags listener failed")
