"""Scans: one run (walk, write, then hash in the background), and scans in the background one at a
time, with progress, events and the last report."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from ..errors import Conflict, LoraManagerError

if TYPE_CHECKING:
    from ..events import EventBus
    from .hasher import Hasher
    from .scanner import ScanReport, Scanner
    from .training import TrainingTagsPass

log = logging.getLogger(__name__)


class ScanService:
    def __init__(self, scanner: Scanner, hasher: Hasher, events: EventBus, *,
                 after_scan: Callable[[list[int]], Any] | None = None, training: TrainingTagsPass | None = None):
        self.scanner = scanner
        self.hasher = hasher
        self.training = training  # reads the training tags a large scan left out, after it (sync/training.py)
        self._training_looked = False
        self.events = events
        # In the scan's thread, before hashing starts (Civitai sidecar versions), after a scan that wrote existing
        # rows anew: given their ids (the pick itself looks at every row the first time in this process).
        self.after_scan = after_scan
        self._publish: Callable[[dict[str, Any]], None] = events.publish
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.progress: dict[str, Any] = {"stage": None, "done": 0, "total": 0}
        self.started_at: float | None = None
        self.last_report: dict[str, Any] | None = None
        self.last_error: str | None = None
        self._last_emit = 0.0

    def run(self, progress=None, *, hash_after: bool = True, wait_hashes: bool = False, wait_hook=None,
            wait_training: bool = False) -> ScanReport:
        """Scan here, then read training tags and hash in the background. With `wait_hashes`, wait for the
        hashes (calling `wait_hook()` while waiting) and count duplicates again, since duplicates are
        known only from full hashes; with `wait_training`, wait for the training tags."""
        rewritten: list[int] = []
        report = self.scanner.scan(progress, rewritten)
        if self.training is not None and (report.new or report.changed or report.moved or report.returned
                                          or not self._training_looked):
            # Only a scan that wrote rows leaves tags to read, and the first one of this process (rows an
            # earlier process left waiting): an unchanged rescan of 100k rows skips the look (~1 s).
            self._training_looked = True
            self.training.wake()
        if report.new or report.changed or report.moved or report.missing or report.returned:
            self.events.library_changed()
        if self.after_scan is not None and rewritten:
            try:
                self.after_scan(rewritten)
            except Exception:  # the scan is done and stands; the next pick looks at every row
                log.exception("after-scan step failed")
        if hash_after:
            self.hasher.wake()
            if wait_hashes:
                while not self.hasher.wait(0.2):
                    if wait_hook:
                        wait_hook()
                report.duplicate = self.scanner.duplicate_count()
        if wait_training and self.training is not None:
            self.training.wait()
        return report

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, reason: str = "request") -> dict[str, Any]:
        """Start a scan in a background thread; Conflict when one is running."""
        with self._lock:
            if self.running:
                raise Conflict("a scan is already running", {"progress": self.progress})
            self.started_at = time.time()
            self.progress = {"stage": "walk", "done": 0, "total": 0}
            self._thread = threading.Thread(target=self._work, args=(reason,), name="lora-manager-scan", daemon=True)
            self._thread.start()
        return self.status()

    def wait(self, timeout: float | None = None) -> bool:
        with self._lock:  # start() assigns and starts the thread under this lock
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        self.progress = {"stage": stage, "done": done, "total": total}
        now = time.monotonic()
        if now - self._last_emit >= 0.25 or done == total:
            self._last_emit = now
            self._publish({"type": "scan.progress", **self.progress})

    def _work(self, reason: str) -> None:
        self._publish({"type": "scan.started", "reason": reason})
        try:
            report = self.run(self._on_progress)
        except Exception as exc:  # reported to clients, /scans/last and the log; the server goes on
            if isinstance(exc, LoraManagerError):
                log.error("scan failed: %s", exc.message)
                error = {"code": exc.code, "message": exc.message[:500]}
            else:
                log.exception("scan failed")
                error = {"code": "internal", "message": f"{type(exc).__name__}: {exc}"[:500]}
            self.last_error = error["message"]
            self.last_report = {"status": "failed", "error": error, "finished_at": time.time(), "reason": reason}
            self._publish({"type": "scan.failed", "error": self.last_error, "report": self.last_report})
            return
        self.last_error = None
        self.last_report = {"status": "finished", **report.as_dict(), "finished_at": time.time(), "reason": reason}
        self._publish({"type": "scan.finished", "report": self.last_report})

    def status(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "started_at": self.started_at,
            "progress": self.progress if self.running else None,
            "last_report": self.last_report,
            "last_error": self.last_error,
        }
