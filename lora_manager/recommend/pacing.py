"""Spacing the recommender's whole-library re-reads while the library keeps changing.

A re-read of the whole library costs about 10 s of CPU at 100k LoRAs. A new library's training tags arrive
in parts of 100 for a minute or more after its first scan (sync/training.py), each part too large to put in
place, and back-to-back re-reads used to follow them: measured at 100k, 65 s of CPU more and the server
holding 620 MB instead of about 250 MB afterwards (docs/performance-api.md). After a re-read that took D
seconds, the next one waits until GAP x D seconds have passed since it ended, so re-reads take at most
1/(1 + GAP) of a core; queries meanwhile answer from what was read last, as they do during a re-read.

`hold`, when given, says a pass that fills the whole library in is under way (the training tags pass): a
re-read then waits for its end, at most HOLD_MAX seconds, and reads everything it filled in at once. A re-read
in the middle of that pass read the library while it was half filled, cost twice its CPU (both cores were
busy) and left the server's heap fragmented: measured at 100k, 420 MB held afterwards against 247 MB
(docs/performance-api.md, "The first minutes, held re-reads"). The pass's parts are said as fills
(events.LibraryChanged.filled); while `hold` says the pass runs, none is put in place as edits are: each makes
the read due, and the read after the pass takes them all at once (put in place 200 at a time while it was held,
they grew the index's arrays). Another host's fills, which nothing here holds for, go in place.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager

GAP = 3.0
HOLD_MAX = 600.0  # a pass that runs longer (a huge library on a slow disk) does not keep the text stale longer
POLL = 0.5  # how often a due re-read looks again (the recommender's thread puts edits in place meanwhile)


class Pacer:
    def __init__(self, gap: float = GAP, hold: Callable[[], bool] | None = None, hold_max: float = HOLD_MAX):
        self.gap = gap
        self.hold = hold
        self.hold_max = hold_max
        self._next = 0.0  # monotonic time before which no re-read starts
        self._held_since: float | None = None  # when the hold was first seen since the last re-read

    def due(self) -> bool:
        """Whether a whole re-read may start now: its spacing has passed, and nothing holds it (or the hold
        has lasted `hold_max` seconds)."""
        now = time.monotonic()
        if now < self._next:
            return False
        if not self.held():
            self._held_since = None
            return True
        if self._held_since is None:
            self._held_since = now
        return now - self._held_since >= self.hold_max

    def held(self) -> bool:
        """Whether the pass that holds re-reads is under way now (however long it has held)."""
        if self.hold is None:
            return False
        try:
            return bool(self.hold())
        except Exception:  # a hold that cannot tell holds nothing
            return False

    @contextmanager
    def timing(self):
        """Around a re-read: its length sets when the next may start."""
        started = time.monotonic()
        try:
            yield
        finally:
            ended = time.monotonic()
            self._next = ended + self.gap * (ended - started)
            self._held_since = None
