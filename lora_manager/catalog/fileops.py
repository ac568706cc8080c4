"""Move, rename, trash and restore a LoRA together with its sidecars and previews.

Every target is checked before anything moves, on disk and in the index; files
are moved without ever replacing an existing file; if anything fails half way,
the files already moved are put back. Nothing is deleted here: "delete" moves the
files into the trash folder, from where they can be restored (deleting for good, from the
trash only, is catalog/trash.py's).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import threading
import time

from ..errors import Conflict, InvalidInput, NotFound
from ..library.probe import probe
from ..library.walker import Fence, entry_for
from ..events import EventBus
from ..storage.catalog_store import CatalogStore
from ..storage.user_store import UserStore
from .userdata import check_text

_BAD_NAME = re.compile(r'[\x00-\x1f/\\:*?"<>|]')
MAX_NAME = 200  # a new base name (the API's schema says it too)


class FileOps:
    def __init__(self, catalog_store: CatalogStore, user_store: UserStore, events: EventBus, roots: list[str],
                 trash_dir: str, *, link_targets: list[str] | None = None):
        self.catalog_store = catalog_store
        self.user_store = user_store  # the moved or trashed row is written here
        self.events = events  # told when files moved (the host refreshes its list)
        self.roots = [os.path.abspath(r) for r in roots]
        self.real_roots = [os.path.realpath(r) for r in roots]
        self.fence = Fence(self.roots, link_targets)  # where real paths may be: the roots and the allowed link targets
        self.trash_dir = trash_dir
        # One file operation at a time in this process; scans hold it while they re-check and write.
        self.lock = self._lock = threading.Lock()

    def _root_of(self, path: str) -> str | None:
        """The configured root holding `path`: by its name first (a root may be a
        symlink), and its real location must be inside a real root too."""
        path = os.path.abspath(path)
        real = os.path.realpath(path)
        if not self.fence.holds(path):
            return None
        for root in self.roots:
            if path == root or path.startswith(root + os.sep):
                return root
        for root, real_root in zip(self.roots, self.real_roots, strict=False):
            if real == real_root or real.startswith(real_root + os.sep):
                return root
        return None

    def inside_roots(self, path: str) -> bool:
        return self._root_of(path) is not None

    def preview_path(self, key: str | int, index: int) -> str:
        """The path of the LoRA's preview number `index`: only a file inside the roots."""
        entry = self.catalog_store.get(key)
        previews = entry["previews"]
        if index >= len(previews):
            raise NotFound(f"this LoRA has {len(previews)} preview(s)")
        path = os.path.join(os.path.dirname(entry["path"]), previews[index]["name"])
        if not self.inside_roots(path) or not os.path.isfile(path):
            raise NotFound("the preview file is not in the library")
        return path

    def _current(self, lid: int) -> tuple[str, str]:
        found = self.catalog_store.paths([lid]).get(lid)
        if found is None:
            raise NotFound(f"no LoRA with id {lid}")
        path, root, state = found
        if state in ("missing", "trashed"):
            raise Conflict(f"the file is {state}; nothing to move", {"state": state})
        if not os.path.exists(path):
            raise Conflict("the file is not on disk any more; rescan first", {"path": path})
        if self._root_of(path) is None:
            # e.g. swapped for a link to a file elsewhere since the scan: never move what lives outside
            raise InvalidInput("the file's real location is outside the library roots; rescan first",
                               {"path": path, "real_path": os.path.realpath(path)})
        return path, root

    @staticmethod
    def _companions(path: str) -> list[str]:
        entry = entry_for(path, os.path.dirname(path))
        return list(entry.companions) if entry else []

    def move(self, key: str | int, folder: str | None = None, new_name: str | None = None) -> dict:
        """Move to `folder` (relative to the LoRA's root, or absolute inside a root) and/or rename the base name."""
        for label, value in (("folder", folder), ("name", new_name)):
            if value:
                check_text(label, value)
        lid = self.catalog_store.resolve(key)
        with self._lock:
            path, stored_root = self._current(lid)
            old_folder, old_file = os.path.split(path)
            old_base, ext = os.path.splitext(old_file)
            new_base = old_base if new_name in (None, "") else new_name.strip()
            if new_base.lower().endswith(ext.lower()):
                new_base = new_base[: -len(ext)]
            if not new_base or new_base in (".", "..") or _BAD_NAME.search(new_base) or len(new_base) > MAX_NAME \
                    or new_base != new_base.rstrip(". "):
                raise InvalidInput(
                    f"a new name must be 1-{MAX_NAME} characters without path separators, control characters "
                    "or trailing dots and spaces"
                )
            root = self._root_of(path) or stored_root
            if folder in (None, ""):
                target_folder = old_folder
            else:
                target_folder = os.path.normpath(folder if os.path.isabs(folder) else os.path.join(root, folder))
            target_root = self._root_of(os.path.join(target_folder, "x"))
            if target_root is None:
                raise InvalidInput("the target folder must be inside a library root", {"roots": self.roots})
            if os.path.lexists(target_folder) and not os.path.isdir(target_folder):
                raise InvalidInput("the target folder is a file", {"folder": target_folder})
            moves = [(path, os.path.join(target_folder, new_base + ext))]
            for comp in self._companions(path):
                moves.append((os.path.join(old_folder, comp),
                              os.path.join(target_folder, new_base + comp[len(old_base):])))
            if moves[0][0] == moves[0][1]:
                return self.catalog_store.get(lid)
            holder = self.user_store.id_at_path(moves[0][1])
            if holder is not None and holder != lid:
                raise Conflict("another entry (missing or in the trash) owns that name; restore or forget it first",
                               {"id": holder, "path": moves[0][1]})
            _makedirs(target_folder)
            self._move_all(moves)
            try:
                self._reindex(lid, moves[0][1], target_root)
            except Exception:
                self._move_back(moves)
                raise
        self.events.library_changed()
        return self.catalog_store.get(lid)

    def trash(self, key: str | int) -> dict:
        lid = self.catalog_store.resolve(key)
        with self._lock:
            path, _ = self._current(lid)
            folder = os.path.join(self.trash_dir, f"{lid}-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**6}")
            _makedirs(folder)
            moves = [(path, os.path.join(folder, os.path.basename(path)))]
            moves += [(os.path.join(os.path.dirname(path), c), os.path.join(folder, c)) for c in self._companions(path)]
            self._move_all(moves)
            try:
                # The row now points at the file in the trash; its original place is kept
                # to restore it, and a new file may take that place meanwhile.
                self.user_store.set_trashed(lid, moves[0][1], original=path)
            except Exception:
                self._move_back(moves)
                raise
        self.events.library_changed()
        return self.catalog_store.get(lid)

    def restore(self, key: str | int) -> dict:
        lid = self.catalog_store.resolve(key)
        with self._lock:
            entry = self.catalog_store.get(lid)
            if entry["state"] != "trashed":
                raise Conflict("this LoRA is not in the trash", {"state": entry["state"]})
            original = self.user_store.trash_path(lid)
            trashed = entry["path"]
            folder = os.path.dirname(trashed)
            if not original or not os.path.isfile(trashed):
                raise Conflict("its files are gone from the trash; cannot restore", {"trash": folder})
            holder = self.user_store.id_at_path(original)
            if holder is not None and holder != lid:
                raise Conflict("another entry now holds the original path", {"id": holder, "path": original})
            dest = os.path.dirname(original)
            if os.path.lexists(dest) and not os.path.isdir(dest):
                raise Conflict("the original folder is now a file", {"folder": dest})
            moves = [(os.path.join(folder, n), os.path.join(dest, n)) for n in sorted(os.listdir(folder))]
            _makedirs(dest)
            self._move_all(moves)
            try:
                root = self._root_of(original) or entry["root"]
                self.user_store.set_trashed(lid, None, original=original)
                self._reindex(lid, original, root)
            except Exception:
                self._move_back(moves)
                raise
            try:
                os.rmdir(folder)
            except OSError:
                pass  # something else was left there; the trash keeps it
        self.events.library_changed()
        return self.catalog_store.get(lid)

    @staticmethod
    def _move_all(moves: list[tuple[str, str]]) -> None:
        clash = [dst for src, dst in moves if os.path.lexists(dst) and os.path.realpath(src) != os.path.realpath(dst)]
        if clash:
            raise Conflict("a file with that name already exists", {"paths": clash})
        done: list[tuple[str, str]] = []
        try:
            for src, dst in moves:
                _move_no_replace(src, dst)
                done.append((src, dst))
        except OSError as exc:
            FileOps._move_back(done)
            if exc.errno == errno.EEXIST:
                raise Conflict("a file with that name appeared meanwhile; nothing was changed") from exc
            raise Conflict(
                f"could not move {os.path.basename(src)}: {exc.strerror or exc}; nothing was changed"
            ) from exc

    @staticmethod
    def _move_back(done: list[tuple[str, str]]) -> None:
        for src, dst in reversed(done):
            try:
                _move_no_replace(dst, src)
            except OSError:
                pass  # leave it where it is rather than overwrite anything

    def _reindex(self, lid: int, path: str, root: str) -> None:
        entry = entry_for(path, root)
        if entry is not None:
            self.user_store.relocate(lid, probe(entry).as_row())


def _makedirs(folder: str) -> None:
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create the folder: {exc.strerror or exc}", {"folder": folder}) from None


def _move_no_replace(src: str, dst: str) -> None:
    """Move without ever replacing `dst`: a hard link fails when `dst` exists
    (os.rename would silently replace it); across devices, copy exclusively."""
    try:
        os.link(src, dst)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
            raise
        with open(src, "rb") as fin, open(dst, "xb") as fout:  # "x": fails if dst exists
            shutil.copyfileobj(fin, fout, 1 << 20)
        shutil.copystat(src, dst)  # keeps mtime, so cached hashes stay valid
    os.unlink(src)
