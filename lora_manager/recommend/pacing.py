"""Spacing the recommender's whole-library re-reads while the library keeps changing.

A re-read of the whole library costs about 10 s of CPU at 100k LoRAs. A new library's training tags arrive
in parts of 100 for a minute or more after its first scan (sync/training.py), each part too large to put in
place, and back-to-back re-reads used to follow them: measured at 100k, 65 s of CPU more and the server
holding 620 MB instead of about 250 MB afterwards (docs/performance-api.md). After a re-read that took D
seconds, the next one waits until GAP x D seconds have passed since it ended, so re-reads take at most
1/(1 + GAP) of a core; queries meanwhile answer from what was read last, as they do during a re-read.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

GAP = 3.0


class Pacer:
    def __init__(self, gap: float = GAP):
        self.gap = gap
        self._next = 0.0  # monotonic time before which no re-read starts

    def wait(self, stop: threading.Event) -> bool:
        """Wait for the next re-read's turn; True when `stop` was set meanwhile."""
        delay = self._next - time.monotonic()
        return stop.wait(delay) if delay > 0 else stop.is_set()

    @contextmanager
    def timing(self):
        """Around a re-read: its length sets when the next may start."""
        started = time.monotonic()
        try:
            yield
        finally:
            ended = time.monotonic()
            self._next = ended + self.gap * (ended - started)
