"""Usage retention: raw events older than the setting are compacted now and then daily, in a daemon
thread (the rollups keep every figure; see Analytics.compact)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)
DAY_S = 86400.0


class UsageRetention:
    def __init__(self, compact: Callable[[int], int], days: int):
        self.compact = compact  # Analytics.compact(retention_days) -> generations deleted
        self.days = days  # 0: keep every raw event
        self._stops: list[threading.Event] = []
        self._lock = threading.Lock()

    def start(self, every_s: float = DAY_S) -> threading.Event | None:
        """Compact now, then every `every_s` seconds, until stopped. Returns the event that stops this
        thread (None when retention is off)."""
        if self.days <= 0:
            return None
        stop = threading.Event()
        with self._lock:
            self._stops.append(stop)
        threading.Thread(target=self._run, args=(stop, every_s), name="lora-manager-retention", daemon=True).start()
        return stop

    def stop(self) -> None:
        with self._lock:
            for stop in self._stops:
                stop.set()

    def _run(self, stop: threading.Event, every_s: float) -> None:
        while not stop.is_set():
            try:
                self.compact(self.days)
            except Exception:  # a failed compaction is retried the next day; recording goes on
                log.exception("usage retention failed")
            stop.wait(every_s)
