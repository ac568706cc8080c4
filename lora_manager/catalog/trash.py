"""The trash for good, and entries forgotten.

Delete for good: only a LoRA already in the trash, and only the files of its own folder in the
trash folder (what FileOps.trash made: `<trash>/<id>-<time>/`); its row and user data go with it.
Forget: only an entry whose file is missing; its row and user data go, nothing on disk is touched.
"""

from __future__ import annotations

import os
import stat

from ..errors import Conflict, LoraManagerError
from ..events import EventBus
from ..storage.catalog_store import CatalogStore
from ..storage.fileops_store import FileOpsStore
from .fileops import FileOps


class Trash:
    def __init__(self, files: FileOps, catalog_store: CatalogStore, store: FileOpsStore, events: EventBus):
        self.files = files
        self.catalog_store = catalog_store
        self.store = store
        self.events = events

    def forget(self, key: str | int) -> dict[str, int]:
        lid = self.catalog_store.resolve(key)
        with self.files.lock:
            state = self.catalog_store.paths([lid]).get(lid, (None, None, None))[2]
            if state != "missing" or not self.store.drop(lid, "missing"):
                raise Conflict("only a missing entry can be forgotten; move a present one to the trash instead",
                               {"state": state})
        self.events.library_changed()
        return {"forgotten": lid}

    def delete(self, key: str | int) -> dict[str, int]:
        """Delete a trashed LoRA's files for good; 409 for one that is not in the trash."""
        lid = self.catalog_store.resolve(key)
        with self.files.lock:
            self._delete(lid)
        self.events.library_changed()
        return {"deleted": lid}

    def empty(self) -> dict[str, int]:
        done = 0
        with self.files.lock:
            for lid in self.store.ids_in_state("trashed"):
                try:
                    self._delete(lid)
                    done += 1
                except Conflict:
                    pass  # restored or deleted meanwhile
        if done:
            self.events.library_changed()
        return {"deleted": done}

    def _delete(self, lid: int) -> None:
        path, _root, state = self.catalog_store.paths([lid]).get(lid, (None, None, None))
        if state != "trashed" or not path:
            raise Conflict("only a LoRA in the trash can be deleted for good; delete it to the trash first",
                           {"state": state})
        folder = self._own_folder(lid, path)
        if folder is not None:
            for name in os.listdir(folder):
                entry = os.path.join(folder, name)
                if stat.S_ISDIR(os.lstat(entry).st_mode):
                    continue  # not something the trash put there: left alone
                os.unlink(entry)  # a file or a link itself, never what a link points at
            try:
                os.rmdir(folder)
            except OSError:
                pass
        if not self.store.drop(lid, "trashed"):
            raise Conflict("it left the trash meanwhile", {"id": lid})

    def _own_folder(self, lid: int, path: str) -> str | None:
        """The trash folder of this entry, if it is one FileOps.trash made inside the trash; None when gone."""
        folder = os.path.dirname(os.path.abspath(path))
        trash = os.path.realpath(self.files.trash_dir)
        if not os.path.lexists(folder):
            return None
        if (os.path.islink(folder) or os.path.dirname(os.path.realpath(folder)) != trash
                or not os.path.basename(folder).startswith(f"{lid}-")):
            raise Conflict("its file is not in the trash folder; nothing was deleted", {"path": path})
        return folder

    def bulk(self, ids: list[int], action: str, value=None) -> dict:
        """restore | forget | move (value: the folder) of many; what failed is skipped with its reason."""
        changed, skipped = 0, []
        for lid in ids:
            try:
                if action == "forget":
                    self.forget(lid)
                elif action == "restore":
                    self.files.restore(lid)
                else:
                    self.files.move(lid, value)
                changed += 1
            except LoraManagerError as exc:
                skipped.append({"id": lid, "reason": exc.message})
        return {"changed": changed, "skipped": skipped}
