"""Follow the library folders while the server runs.

Where the platform gives file-system events for a root (a local file system:
inotify, FSEvents, ReadDirectoryChangesW, through `watchdog`; see
fsevents.py), a change there starts a scan once the events have settled for
SETTLE_S seconds, and nothing is walked between changes.

Other roots (network shares and FUSE mounts, which send no events for changes
made elsewhere, or a root past inotify's watch limit) are polled: every
`interval` seconds the folder tree is listed (names and folder mtimes only: no
file is stat'ed), which costs a few milliseconds for 10k files. A file written
in place changes no folder, so the files' own sizes and mtimes (and their
sidecars', as the scanner sees them) are compared too: that walk stats every
file (about 0.1 s per 10k), so it runs at most every `interval` seconds and
never more often than keeps it under 1/BUDGET of a core (every 5 s at 10k
files, about every 50 s at 100k). When either differs from last time, a scan
runs.

The periodic full scan is only a safety net and runs every `full_every`
seconds (6 hours).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import zlib
from collections.abc import Callable

from ..library.walker import walk
from .fsevents import Events

log = logging.getLogger(__name__)
BUDGET = 50  # the file walk waits at least this many times its own duration before running again
FULL_EVERY_S = 6 * 3600.0
SETTLE_S = 1.0  # a copy in progress sends events for as long as it writes: scan once they pause


def tree_signature(roots: list[str]) -> int:
    sig = 0
    for root in roots:
        stack = [root]
        while stack:
            folder = stack.pop()
            try:
                st = os.stat(folder)
                with os.scandir(folder) as it:
                    names = []
                    for entry in it:
                        names.append(entry.name)
                        if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                            stack.append(entry.path)
            except OSError:
                sig = zlib.crc32(b"gone:" + folder.encode("utf-8", "surrogateescape"), sig)
                continue
            names.sort()
            sig = zlib.crc32(f"{folder}\0{st.st_mtime_ns}\0{len(names)}".encode("utf-8", "surrogateescape"), sig)
    return sig


def files_signature(roots: list[str], skip: set[str] | None = None) -> int:
    """What a scan compares: every LoRA file's path, size, mtime and companions' signature."""
    files = sorted((e.path, e.size, e.mtime_ns, e.companion_sig) for e in walk(roots, skip).files)
    return zlib.crc32(repr(files).encode("utf-8", "surrogateescape"))


class Watcher:
    def __init__(self, roots: list[str], start_scan: Callable[[str], object], is_scanning: Callable[[], bool],
                 interval: float = 5.0, full_every: float = FULL_EVERY_S, skip: set[str] | None = None,
                 events: bool = True):
        self.roots = roots
        self.use_events = events
        self.events: Events | None = None
        self.polled: list[str] = list(roots)  # the roots followed by polling (all of them until start)
        self.start_scan = start_scan
        self.is_scanning = is_scanning
        self.interval = interval
        self.full_every = full_every
        self.skip = skip
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.triggered = 0
        self.file_checks = 0

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="lora-manager-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self.events is not None:
            self.events.stop()

    def _files(self) -> tuple[int, float]:
        started = time.monotonic()
        sig = files_signature(self.polled, self.skip)
        self.file_checks += 1
        return sig, time.monotonic() - started

    def _settled(self) -> bool:
        ev = self.events
        return ev is not None and ev.dirty.is_set() and time.monotonic() - ev.last >= SETTLE_S

    def _run(self) -> None:
        if self.use_events:
            self.events = Events(self.roots, self.skip)
            self.polled = self.events.start()
        else:
            self.polled = list(self.roots)
        polling = bool(self.polled)
        last = tree_signature(self.polled)
        files, cost = self._files() if polling else (0, 0.0)
        files_at = last_full = time.monotonic()
        while not self._stop.wait(self.interval):
            try:
                now, sig = last, None
                if polling:
                    now = tree_signature(self.polled)
                    if now == last and time.monotonic() - files_at >= max(self.interval, cost * BUDGET):
                        sig, cost = self._files()
                        files_at = time.monotonic()
                changed = now != last or (sig is not None and sig != files) or self._settled()
                due = time.monotonic() - last_full >= self.full_every
                if (changed or due) and not self.is_scanning():
                    if self.events is not None:
                        self.events.dirty.clear()  # before the scan walks: an event during it sets it again
                    if polling and sig is None:  # taken before the scan walks: a change after it shows next time
                        sig, cost = self._files()
                        files_at = time.monotonic()
                    self.start_scan("watch")
                    self.triggered += 1
                    last, files, last_full = now, sig, time.monotonic()
            except Exception:  # a watcher hiccup must not end the server
                log.exception("watching the library failed; trying again")
