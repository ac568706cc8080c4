"""Folders of a library root: create one, rename one (the files, the index and user data follow).

Only inside a configured root: a path is relative, its parts are plain names (no `..`, no separators
or control characters), and its real location (symlinks followed) must lie inside the root's.
"""

from __future__ import annotations

import errno
import os

from ..errors import Conflict, InvalidInput, NotFound
from ..events import EventBus
from ..storage.fileops_store import FileOpsStore
from .fileops import _BAD_NAME, MAX_NAME, FileOps
from .userdata import check_text

MAX_PATH = 1000  # a folder path relative to its root (the API's schema says it too)


def folder_parts(path: str, label: str = "path") -> list[str]:
    """The plain names of a relative folder path ('a/b' -> ['a', 'b']); InvalidInput for anything else."""
    if not isinstance(path, str):
        raise InvalidInput(f"{label} must be text", {"field": label})
    check_text(label, path)
    if len(path) > MAX_PATH:
        raise InvalidInput(f"{label} is at most {MAX_PATH} characters", {"field": label})
    parts = [p for p in path.replace("\\", "/").strip("/").split("/") if p != ""]
    for part in parts:
        check_name(part, label, cap=None)  # a name too long for the file system: refused when made (409)
    return parts


def check_name(name: str, label: str = "name", cap: int | None = MAX_NAME) -> str:
    check_text(label, name)
    if (not name or name.startswith(".") or _BAD_NAME.search(name) or (cap is not None and len(name) > cap)
            or name != name.strip() or name.endswith(".")):
        # a name starting with a dot is hidden: scans skip such folders, and the LoRAs in it would go missing
        raise InvalidInput(f"{label}: a folder name must be 1-{MAX_NAME} characters without path separators or "
                           "control characters, not starting with a dot, without leading/trailing spaces or "
                           "trailing dots", {"field": label, "name": name[:100]})
    return name


class Folders:
    def __init__(self, files: FileOps, store: FileOpsStore, events: EventBus):
        self.files = files
        self.store = store
        self.events = events

    def root(self, root: str) -> str:
        """The configured root named `root` (absolute); NotFound for any other path."""
        if isinstance(root, str) and "\x00" not in root:
            given = os.path.abspath(root) if os.path.isabs(root) else None
            for known in self.files.roots:
                if given in (known, os.path.abspath(os.path.realpath(known))):
                    return known
        raise NotFound("not a library root: give one of the roots as an absolute path",
                       {"roots": self.files.roots})

    def _inside(self, folder: str) -> str:
        if self.files._root_of(os.path.join(folder, "x")) is None:
            raise InvalidInput("that folder's real location is outside the library roots (a link?)",
                               {"folder": folder})
        return folder

    def create(self, root: str, path: str) -> dict[str, str]:
        base = self.root(root)
        parts = folder_parts(path)
        if not parts:
            raise InvalidInput("give the new folder's path inside the root", {"field": "path"})
        target = self._inside(os.path.join(base, *parts))
        with self.files.lock:
            if os.path.lexists(target):
                raise Conflict("that folder already exists", {"folder": target})
            self._inside(target)  # again under the lock: a link may have appeared on the way
            try:
                os.makedirs(target)
            except FileExistsError:
                raise Conflict("that folder already exists", {"folder": target}) from None
            except OSError as exc:
                raise Conflict(f"cannot create the folder: {exc.strerror or exc}", {"folder": target}) from None
        return {"root": base, "path": "/".join(parts)}  # no LoRA changed: the host's list needs no refresh

    def rename(self, root: str, path: str, new_name: str) -> dict[str, int]:
        """Rename the folder `path` of `root` to `new_name` (same parent); every entry under it follows."""
        base = self.root(root)
        parts = folder_parts(path)
        new_name = check_name(new_name.strip() if isinstance(new_name, str) else "", "new_name")
        if not parts:
            raise InvalidInput("the root itself cannot be renamed here", {"field": "path"})
        src = os.path.join(base, *parts)
        dst = os.path.join(os.path.dirname(src), new_name)
        with self.files.lock:
            if not os.path.isdir(src) or os.path.islink(src):
                raise NotFound("no such folder in that root", {"folder": src})
            self._inside(src)
            self._inside(dst)
            if src == dst:
                return {"moved": 0}
            if os.path.lexists(dst) and not _same_entry(src, dst):
                raise Conflict("a file or folder with that name already exists", {"folder": dst})
            try:
                os.rename(src, dst)
            except OSError as exc:
                code = Conflict if exc.errno in (errno.EEXIST, errno.ENOTEMPTY) else InvalidInput
                raise code(f"cannot rename the folder: {exc.strerror or exc}", {"folder": src}) from None
            try:
                moved = self.store.rebase(src, dst)
            except Exception:
                os.rename(dst, src)
                raise
        self.events.library_changed()
        return {"moved": moved}


def _same_entry(a: str, b: str) -> bool:
    """A case-only rename on a case-insensitive file system: both names are one folder."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
