"""The job result records read once (jobs/results.py): each `<id>.json` parsed is kept by its path, with the
file's (inode, mtime_ns, size) when read; a scan stats every record (os.scandir) and parses again only a file
whose stat changed, forgets one that is gone. From the records kept, the "used as preview" marks by LoRA path,
so "set as preview" finds the result it replaces without reading every record.

A record read within RACY_NS of its mtime is read again at the next look: a writer editing it in place in the
same clock tick, to the same size, would leave its stat unchanged (git's "racy" entries). Not thread safe by
itself: Results calls it under its lock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

Record = dict[str, Any]
Reader = Callable[[str], Record | None]
Key = tuple[int, int, int]
RACY_NS = 2_000_000_000  # coarse clocks (FAT's 2 s mtime, network filesystems) as well as the kernel's tick


class RecordCache:
    def __init__(self) -> None:
        # path -> (stat key, or None: read it again next time; its folder; the record, or None: not a record)
        self._entries: dict[str, tuple[Key | None, str, Record | None]] = {}
        self._marks: dict[str, set[str]] = {}  # LoRA path -> the paths of the records marked as its preview

    def scan(self, folders: list[str], read: Reader) -> list[tuple[str, Record]]:
        """Every record in these folders (folder, record), in the order scanned; parses only what changed."""
        now, seen, out = time.time_ns(), set(), []
        for folder in folders:
            try:
                entries = os.scandir(folder)
            except OSError:  # a day folder removed since it was listed
                continue
            with entries:
                for entry in entries:
                    if not (entry.name.endswith(".json") and entry.is_file(follow_symlinks=False)):
                        continue
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    seen.add(entry.path)
                    rec = self._current(entry.path, folder, (st.st_ino, st.st_mtime_ns, st.st_size), now, read)
                    if rec is not None:
                        out.append((folder, rec))
        for path in [p for p in self._entries if p not in seen]:
            self.drop(path)
        return out

    def get(self, path: str, folder: str, read: Reader) -> Record | None:
        """The record at this path (None: no file, or not a record), read again only if the file changed."""
        now = time.time_ns()
        try:
            st = os.stat(path)
        except OSError:
            self.drop(path)
            return None
        return self._current(path, folder, (st.st_ino, st.st_mtime_ns, st.st_size), now, read)

    def marked(self, lora_path: str) -> list[tuple[str, Record]]:
        """The records kept that carry the "used as preview" mark for this LoRA path (folder, record)."""
        out = []
        for path in sorted(self._marks.get(lora_path, ())):
            _key, folder, rec = self._entries[path]
            if rec is not None:
                out.append((folder, rec))
        return out

    def drop(self, path: str) -> None:
        """Forget a record (removed, or written by us: read again at the next look)."""
        old = self._entries.pop(path, None)
        if old is not None:
            for lora_path in _marks_of(old[2]):
                paths = self._marks.get(lora_path)
                if paths is not None:
                    paths.discard(path)
                    if not paths:
                        del self._marks[lora_path]

    def _current(self, path: str, folder: str, key: Key, now: int, read: Reader) -> Record | None:
        kept = self._entries.get(path)
        if kept is not None and kept[0] == key and kept[1] == folder:
            return kept[2]
        self.drop(path)
        rec = read(path)
        self._entries[path] = (key if now - key[1] > RACY_NS else None, folder, rec)
        for lora_path in _marks_of(rec):
            self._marks.setdefault(lora_path, set()).add(path)
        return rec


def _marks_of(rec: Record | None) -> set[str]:
    uses = (rec or {}).get("used_as_preview")
    return {p for p in uses if isinstance(p, str)} if isinstance(uses, list) else set()
