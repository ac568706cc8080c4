"""Handing freed heap memory back to the system (glibc's malloc_trim).

CPython's allocator frees small objects into arenas that glibc keeps, so a
big transient piece of work (reading the library into the recommender, a
burst of large pages) leaves the resident size high long after. Only for a
process we own: `serve` and the CLI; never called inside the SDNext host,
whose memory is not ours to manage (see docs/performance-api.md)."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
import threading
import time
from functools import lru_cache


@lru_cache(maxsize=1)
def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None  # musl has none
    except OSError:
        return None


def trim() -> bool:
    """Collect garbage and return free heap pages to the system; False where unsupported."""
    gc.collect()
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def rss_bytes() -> int:
    """This process's resident size (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class Trimmer:
    """Trims the heap when the resident size grew by `slack` bytes since the last trim (looked at every
    `interval` seconds), when a burst of requests is over (none running, and none begun or ended for `quiet`
    seconds after some: `touch()` counts them), and at once when nudged. Each trim lets go of caches first
    (`release`)."""

    def __init__(self, interval: float = 20.0, slack: int = 16 << 20, release=None, quiet: float = 10.0):
        """`release()` lets go of caches first (the database pool's idle connections and their page caches)."""
        self.interval = interval
        self.quiet = quiet
        self.release = release
        self.slack = slack
        self.trims = 0
        self.touched = 0  # requests begun and ended (counted by one thread, the server's event loop)
        self.open = 0  # requests begun and not ended: a burst is not over while one runs
        self._stop = threading.Event()
        self._nudged = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Trimmer:
        if _libc() is not None and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="lora-manager-trim", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._nudged.set()

    def nudge(self) -> None:
        """Let go at once, whatever the resident size: a burst of work just ended (the start-up scan and the
        passes after it leave each pooled connection's page cache full)."""
        self._nudged.set()

    def touch(self, begun: bool = True) -> None:
        """A request began, or ended (`begun=False`): the server's middleware calls this twice for each."""
        self.touched += 1
        self.open += 1 if begun else -1

    def _run(self) -> None:
        floor = rss_bytes()
        tick = min(self.interval, self.quiet / 2)
        look_at = time.monotonic() + self.interval
        seen, busy, last = self.touched, False, 0.0  # busy: requests came since the last trim, the last at `last`
        while True:
            nudged = self._nudged.wait(tick)
            if nudged:  # cleared only when seen: a nudge that came as the wait timed out is seen next time
                self._nudged.clear()
            if self._stop.is_set():
                return
            now = time.monotonic()
            if self.touched != seen:
                seen, busy, last = self.touched, True, now
            over = busy and not self.open and now - last >= self.quiet  # requests came, none since for `quiet` s
            grown = False
            if now >= look_at:
                look_at = now + self.interval
                grown = rss_bytes() > floor + self.slack
            if nudged or over or grown:
                if self.release is not None:
                    try:
                        self.release()
                    except Exception:  # a cache that would not go is only memory; try again later
                        pass
                _libc().malloc_trim(0)  # ctypes lets go of the GIL meanwhile
                self.trims += 1
                floor = rss_bytes()
                busy = False
