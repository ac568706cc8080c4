"""Follow the library folders while the server runs.

Every `interval` seconds the folder tree is listed (names and folder mtimes
only: no file is opened or stat'ed), which costs a few milliseconds for 10k
files; when it differs from last time, a scan runs. Since an in-place edit of a
file changes no folder, a full (stat-only) rescan also runs every
`full_every` seconds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import zlib
from typing import Callable

log = logging.getLogger(__name__)


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


class Watcher:
    def __init__(self, roots: list[str], start_scan: Callable[[str], object], is_scanning: Callable[[], bool],
                 interval: float = 5.0, full_every: float = 600.0):
        self.roots = roots
        self.start_scan = start_scan
        self.is_scanning = is_scanning
        self.interval = interval
        self.full_every = full_every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.triggered = 0

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="lora-manager-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        last = tree_signature(self.roots)
        last_full = time.monotonic()
        while not self._stop.wait(self.interval):
            try:
                now = tree_signature(self.roots)
                due = time.monotonic() - last_full >= self.full_every
                if (now != last or due) and not self.is_scanning():
                    self.start_scan("watch")
                    self.triggered += 1
                    last, last_full = now, time.monotonic()
            except Exception:  # a watcher hiccup must not end the server
                log.exception("watching the library failed; trying again")
