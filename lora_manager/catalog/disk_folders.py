"""The folders of a root on disk, walked once and then kept while no directory of the walk has changed.

A walk lists every file of the root (100k LoRAs with their companions: about 0.25 s); deciding that
nothing changed reads one `stat` per folder instead. A folder created, renamed or removed changes its
parent's modification time, so the walk is kept only while every directory it went through still has
the time it had then (and still exists). A directory changed in the last `RECENT` seconds before the
walk is not trusted (a change in the same tick of the file system's clock would leave its time as it
was): such a walk is used once and not kept.
"""

from __future__ import annotations

import os
import threading
import time

MAX_FOLDERS = 50_000  # per root: a tree a person can browse; deeper trees are cut, counts stay right
RECENT = 2.0  # seconds: a directory changed this close to the walk may change again unseen


def walk_folders(root: str, skip: set[str]) -> tuple[set[str], dict[str, int], bool]:
    """(folders under `root` as "a/b", {directory: mtime_ns} of every directory walked, cut short).
    Hidden folders and `skip` (the data folder) are left out."""
    out: set[str] = set()
    seen: dict[str, int] = {}
    for top, dirs, _files in os.walk(root, followlinks=False):
        try:
            seen[top] = os.stat(top).st_mtime_ns
        except OSError:
            seen[top] = -1  # gone while walked: never matches, the next call walks again
        dirs[:] = [d for d in dirs if not d.startswith(".") and os.path.join(top, d) not in skip]
        rel = os.path.relpath(top, root)
        if rel != ".":
            out.add(rel.replace(os.sep, "/"))
        if len(out) >= MAX_FOLDERS:
            return out, seen, True
    return out, seen, False


def _unchanged(seen: dict[str, int]) -> bool:
    for path, mtime in seen.items():
        try:
            if os.stat(path).st_mtime_ns != mtime:
                return False
        except OSError:
            return False
    return True


class DiskFolders:
    """Each root's folders on disk, walked again only when a directory of the last walk changed."""

    def __init__(self):
        self._kept: dict[tuple[str, frozenset[str]], tuple[set[str], dict[str, int]]] = {}
        self._lock = threading.Lock()
        self.walks = 0  # walks done (the tests read it)

    def folders(self, root: str, skip: set[str]) -> set[str]:
        key = (root, frozenset(skip))
        with self._lock:
            hit = self._kept.get(key)
        if hit is not None and _unchanged(hit[1]):
            return set(hit[0])
        started = time.time_ns()
        found, seen, cut = walk_folders(root, skip)
        self.walks += 1
        recent = started - int(RECENT * 1e9)
        with self._lock:
            if cut or any(m < 0 or m >= recent for m in seen.values()):
                self._kept.pop(key, None)
            else:
                self._kept[key] = (found, seen)
        return set(found)
