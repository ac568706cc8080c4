"""Move, rename, trash and restore a LoRA together with its sidecars and previews.

Every target is checked before anything moves; if a move fails half way the
files already moved are put back. Nothing is ever deleted: "delete" moves
the files into the trash folder, from where they can be restored.
"""

from __future__ import annotations

import os
import re
import shutil
import time

from .errors import Conflict, InvalidInput, NotFound
from .library.probe import probe
from .library.walker import entry_for
from .storage.repository import SqlLibraryRepository

_BAD_NAME = re.compile(r'[\x00-\x1f/\\:*?"<>|]')


class FileOps:
    def __init__(self, repo: SqlLibraryRepository, roots: list[str], trash_dir: str):
        self.repo = repo
        self.roots = [os.path.realpath(r) for r in roots]
        self.trash_dir = trash_dir

    def _root_of(self, path: str) -> str | None:
        real = os.path.realpath(path)
        for root in self.roots:
            if real == root or real.startswith(root + os.sep):
                return root
        return None

    def inside_roots(self, path: str) -> bool:
        return self._root_of(path) is not None

    def _current(self, lid: int) -> tuple[str, str]:
        found = self.repo.paths([lid]).get(lid)
        if found is None:
            raise NotFound(f"no LoRA with id {lid}")
        path, _root, state = found
        if state in ("missing", "trashed"):
            raise Conflict(f"the file is {state}; nothing to move", {"state": state})
        if not os.path.exists(path):
            raise Conflict("the file is not on disk any more; rescan first", {"path": path})
        return path, state

    @staticmethod
    def _companions(path: str) -> list[str]:
        entry = entry_for(path, os.path.dirname(path))
        return list(entry.companions) if entry else []

    def move(self, key: str | int, folder: str | None = None, new_name: str | None = None) -> dict:
        """Move to `folder` (relative to the LoRA's root, or absolute inside a root) and/or rename the base name."""
        lid = self.repo.resolve(key)
        path, _ = self._current(lid)
        old_folder, old_file = os.path.split(path)
        old_base, ext = os.path.splitext(old_file)
        new_base = old_base if new_name in (None, "") else new_name.strip()
        if new_base.lower().endswith(ext.lower()):
            new_base = new_base[: -len(ext)]
        if not new_base or new_base in (".", "..") or _BAD_NAME.search(new_base) or len(new_base) > 200:
            raise InvalidInput("a new name must be 1-200 characters without path separators or control characters")
        root = self._root_of(path) or os.path.dirname(path)
        if folder in (None, ""):
            target_folder = old_folder
        else:
            target_folder = folder if os.path.isabs(folder) else os.path.join(root, folder)
            target_folder = os.path.normpath(target_folder)
        # realpath of a child resolves '..' and symlinks even where the folder does not exist yet
        target_root = self._root_of(os.path.join(target_folder, "x"))
        if target_root is None:
            raise InvalidInput("the target folder must be inside a library root", {"roots": self.roots})
        moves = [(path, os.path.join(target_folder, new_base + ext))]
        for comp in self._companions(path):
            moves.append((os.path.join(old_folder, comp), os.path.join(target_folder, new_base + comp[len(old_base):])))
        if moves[0][0] == moves[0][1]:
            return self.repo.get(lid)
        os.makedirs(target_folder, exist_ok=True)
        self._move_all(moves)
        self._reindex(lid, moves[0][1], target_root)
        return self.repo.get(lid)

    def trash(self, key: str | int) -> dict:
        lid = self.repo.resolve(key)
        path, _ = self._current(lid)
        folder = os.path.join(self.trash_dir, f"{lid}-{time.strftime('%Y%m%d-%H%M%S')}")
        os.makedirs(folder, exist_ok=False)
        moves = [(path, os.path.join(folder, os.path.basename(path)))]
        moves += [(os.path.join(os.path.dirname(path), c), os.path.join(folder, c)) for c in self._companions(path)]
        self._move_all(moves)
        self.repo.set_trashed(lid, folder)
        return self.repo.get(lid)

    def restore(self, key: str | int) -> dict:
        lid = self.repo.resolve(key)
        entry = self.repo.get(lid)
        if entry["state"] != "trashed":
            raise Conflict("this LoRA is not in the trash", {"state": entry["state"]})
        folder = self.repo.trash_path(lid)
        if not folder or not os.path.isdir(folder):
            raise Conflict("its trash folder is gone; cannot restore", {"trash": folder})
        dest = os.path.dirname(entry["path"])
        moves = [(os.path.join(folder, n), os.path.join(dest, n)) for n in sorted(os.listdir(folder))]
        os.makedirs(dest, exist_ok=True)
        self._move_all(moves)
        os.rmdir(folder)
        self.repo.set_trashed(lid, None)
        self._reindex(lid, entry["path"], self._root_of(entry["path"]) or entry["root"])
        return self.repo.get(lid)

    @staticmethod
    def _move_all(moves: list[tuple[str, str]]) -> None:
        clash = [dst for src, dst in moves if os.path.lexists(dst) and os.path.realpath(src) != os.path.realpath(dst)]
        if clash:
            raise Conflict("a file with that name already exists", {"paths": clash})
        done: list[tuple[str, str]] = []
        try:
            for src, dst in moves:
                shutil.move(src, dst)  # copy2 across devices keeps mtime, so hashes stay cached
                done.append((src, dst))
        except OSError as exc:
            for src, dst in reversed(done):
                shutil.move(dst, src)
            raise Conflict(f"could not move {os.path.basename(src)}: {exc.strerror or exc}; nothing was changed") from exc

    def _reindex(self, lid: int, path: str, root: str) -> None:
        entry = entry_for(path, root)
        if entry is not None:
            self.repo.relocate(lid, probe(entry))
