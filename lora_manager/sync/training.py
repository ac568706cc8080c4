"""Training tags after the index: a background pass that reads what a large scan left out.

A scan that reads headers in worker processes leaves each row's training tags as JSON null (ranking
`ss_tag_frequency`'s thousands of tags was a third of the probe's time; nothing lists or searches by
them), so the library is listed and searchable sooner. After every scan this pass reads them: a
daemon thread walks the waiting rows by id, reads each file's header again (8 + N bytes, usually
still in the page cache) and stores the tags where the row still describes that file. Readers take
null as "none yet" (the entry shows an empty list); the listeners of `library.changed` (the
recommender) hear of the rows filled in, as after an edit. It exits when nothing is left.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ..library.training_tags import read_training_tags
from ..storage.training_store import TrainingTagStore, TrainingTodo

log = logging.getLogger(__name__)
BATCH = 200  # rows asked for, read and stored at a time (one short write transaction each)


class TrainingTagsPass:
    def __init__(self, store: TrainingTagStore, *, on_filled: Callable[[list[int]], Any] | None = None):
        self.store = store
        self.on_filled = on_filled  # ids whose tags were just stored
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wakeups = 0
        self._exiting = False
        self.filled = 0  # rows filled in since this process started
        self.skipped = 0  # rows whose file was unreadable or not the indexed one (the next scan reads them)

    def wake(self) -> None:
        """Read whatever waits; start the thread if it is not running (a running pass goes round again)."""
        with self._lock:
            self._wakeups += 1
            if self._thread is None or not self._thread.is_alive() or self._exiting:
                self._stop.clear()
                self._exiting = False
                self._thread = threading.Thread(target=self._run, name="lora-manager-training-tags", daemon=True)
                self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the pass has ended (True) or the timeout passes (False)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def stop(self) -> None:
        self._stop.set()
        self.wait(30)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def status(self) -> dict[str, Any]:
        return {"running": self.running, "filled": self.filled, "skipped": self.skipped}

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                with self._lock:
                    seen = self._wakeups
                self._pass()
                with self._lock:
                    if self._wakeups == seen or self._stop.is_set():
                        self._exiting = True  # a wake from now on starts a new thread
                        return
        except Exception:  # a broken database must not kill the host; the next scan wakes it again
            self._exiting = True
            log.exception("reading training tags stopped")

    def _pass(self) -> None:
        """Every waiting row once, in id order (keyset: a row skipped here is not asked for again)."""
        after = 0
        while not self._stop.is_set():
            todo = self.store.waiting(after, BATCH)
            if not todo:
                return
            after = todo[-1].id
            done = self._read(todo)
            written = self.store.save(done) if done else []
            self.filled += len(written)
            if written and self.on_filled is not None:
                try:
                    self.on_filled(written)
                except Exception:  # a listener's bug is not the pass's
                    log.exception("training tags listener failed")
            time.sleep(0)  # let the host's threads in between batches

    def _read(self, todo: list[TrainingTodo]) -> list[tuple[TrainingTodo, list[list]]]:
        done = []
        for t in todo:
            if self._stop.is_set():
                break
            try:
                tags = read_training_tags(t.path, t.size, t.header_digest)
            except Exception:  # a reader bug on one odd file must not end the pass, nor come back at every one
                log.exception("reading training tags of %s failed", t.path)
                tags = []
            if tags is None:
                self.skipped += 1
            else:
                done.append((t, tags))
        return done
