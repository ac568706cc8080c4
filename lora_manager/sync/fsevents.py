"""File-system events for the watcher (inotify on Linux, FSEvents on macOS, ReadDirectoryChanges on Windows).

`watchdog` owns the platform part. A root on a network or FUSE file system is
left to polling: such mounts often send no events for changes made on another
machine. A root whose watches cannot be set (inotify's per-user limit) falls
back to polling too, with a warning naming the setting to raise.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

log = logging.getLogger(__name__)

# File systems whose changes made elsewhere send no events here.
NETWORK_FS = {"nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "afs", "9p", "ceph", "glusterfs", "lustre",
              "davfs", "ncpfs", "virtiofs", "vboxsf", "prl_fs", "vmhgfs"}
# What may change the library; opened/closed-without-writing are our own reads (scans, hashing).
KINDS = {"created", "deleted", "modified", "moved", "closed"}


def _unescape(field: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as octal escapes."""
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def fs_type(path: str, mounts: str = "/proc/mounts") -> str | None:
    """The type of the file system holding `path` (Linux), or None where it cannot be told."""
    try:
        with open(mounts, encoding="utf-8", errors="surrogateescape") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    real = os.path.realpath(path)
    best, kind = "", None
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = _unescape(parts[1])
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, parts[2]
    return kind


def gives_events(path: str) -> bool:
    """Whether changes under `path` reach us as events (a local file system), as far as can be told."""
    if not sys.platform.startswith("linux"):
        return True  # FSEvents / ReadDirectoryChangesW: network shares there are the user's call (setting)
    kind = fs_type(path)
    return kind is not None and kind not in NETWORK_FS and not kind.startswith("fuse")


class Events:
    """Watches roots recursively; `dirty` says something changed, `last` when it last did."""

    def __init__(self, roots: list[str], skip: set[str] | None = None):
        self.roots = roots
        self.skip = tuple(os.path.join(os.path.abspath(s), "") for s in (skip or ()))
        self.dirty = threading.Event()
        self.last = 0.0
        self.seen = 0
        self._observers: list = []

    def start(self) -> list[str]:
        """Start watching; returns the roots that could not be watched (left to polling)."""
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # an install without it (inside a host that lacks it): poll everything
            log.info("watchdog is not installed: watching the library by polling")
            return list(self.roots)

        owner = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                owner._event(event)

        failed = []
        for root in self.roots:
            if not os.path.isdir(root):
                failed.append(root)
                continue
            observer = Observer()
            observer.daemon = True
            observer.schedule(Handler(), root, recursive=True, follow_symlink=True)
            try:
                observer.start()
            except OSError as exc:  # ENOSPC: inotify's watch limit
                log.warning("cannot watch %s for changes (%s); polling it instead. On Linux, raising "
                            "fs.inotify.max_user_watches lets it be watched", root, exc.strerror or exc)
                failed.append(root)
                continue
            self._observers.append(observer)
        return failed

    def _event(self, event) -> None:
        if event.event_type not in KINDS or (event.is_directory and event.event_type == "modified"):
            return  # a folder's own "modified" repeats what its children's events say
        paths = [event.src_path, getattr(event, "dest_path", "") or ""]
        if all(not p or self._ignored(os.fsdecode(p)) for p in paths):
            return
        self.seen += 1
        self.last = time.monotonic()
        self.dirty.set()

    def _ignored(self, path: str) -> bool:
        """Our data folder, and hidden names below a root (the walker skips them too)."""
        if self.skip and os.path.join(path, "").startswith(self.skip):
            return True
        for root in self.roots:
            if path.startswith(os.path.join(root, "")):
                return any(part.startswith(".") for part in os.path.relpath(path, root).split(os.sep))
        return False

    def stop(self) -> None:
        for observer in self._observers:
            observer.stop()
        for observer in self._observers:
            observer.join(5)
        self._observers.clear()
