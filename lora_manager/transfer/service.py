"""The one object the faces use for backups, restore, export, import and sidecars (app.transfer)."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from ..errors import Conflict, LoraManagerError
from ..storage.transfer_store import Changes, SqlTransferStore
from .backups import Backups
from .merge import POLICIES

log = logging.getLogger(__name__)


class Transfer:
    def __init__(self, settings):
        self.settings = settings
        self.backups = Backups(settings.db_url, settings.backup_dir, settings.backup_keep)
        self.store: SqlTransferStore | None = None
        self.writer = None
        self.sidecars_enabled: Callable[[], bool] = lambda: settings.write_sidecars  # a host adds its own setting
        self._changed: Callable[[], None] = lambda: None
        self._busy = threading.Lock()  # one import or restore at a time in this process

    @contextlib.contextmanager
    def advice(self):
        """Around opening the database: a damaged one is refused naming the newest good backup."""
        from .restore import with_backup_advice

        try:
            yield
        except LoraManagerError as exc:
            raise with_backup_advice(exc, self.settings) from None

    def attach(self, engine, events) -> None:
        """Wire to the open database and the core's change signal (app.build)."""
        from .writeback import SidecarWriter

        self.backups.engine = engine
        self.store = SqlTransferStore(engine)
        # late-bound: a host replaces sidecars_enabled after start-up
        self.writer = SidecarWriter(self.store, lambda: self.sidecars_enabled())  # noqa: PLW0108
        # Edits of user data (a change with ids) queue a write-back; it only queues, so it runs at once. A
        # background pass's fills are no one's edit: they would write the file of a LoRA whose notes were set
        # while the write-back was off, and look up the user data of every part of a new library's pass.
        events.on_library_changed(
            lambda change: None if change.files or change.filled else self.writer.edited(list(change.ids)),
            inline=True)
        self._changed = events.library_changed

    def start(self) -> None:
        """Background work of a long-running process (server, host): the automatic backups."""
        self.backups.start_auto()

    def close(self) -> None:
        self.backups.stop()
        if self.writer is not None:
            self.writer.stop()

    # ------------------------------------------------------------------ backups
    def backup(self, to: str | None = None) -> dict[str, Any]:
        return self.backups.create("manual", to=to)

    def list_backups(self) -> dict[str, Any]:
        return {"folder": self.backups.folder, "kind": self.backups.kind, "keep": list(self.backups.keep),
                "items": self.backups.list()}

    def restore(self, ref: str, *, dry_run: bool = False) -> dict[str, Any]:
        from .restore import restore

        with self._exclusive():
            report = restore(self.backups, ref, dry_run=dry_run)
            if report["restored"]:
                self.backups.engine.dispose()  # pooled connections knew the old file's pages and schema
                self._touched()
        return report

    # ------------------------------------------------------------------ export / import
    def export(self, path: str, parts: list[str], *, include_previews: bool = False) -> dict[str, Any]:
        from .export import export_archive

        return export_archive(self.store, path, parts, settings=self.settings, include_previews=include_previews)

    def export_temp(self, parts: list[str], *, include_previews: bool = False) -> dict[str, Any]:
        """An export into a private file in the data directory (the API streams it, then deletes it)."""
        folder = os.path.join(self.settings.data_dir, "exports")
        os.makedirs(folder, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix="export-", suffix=".zip", dir=folder)
        os.close(fd)
        try:
            return self.export(path, parts, include_previews=include_previews)
        except BaseException:
            os.unlink(path)
            raise

    def import_archive(self, path: str, *, dry_run: bool = False, on_conflict: str = "keep",
                       label: str | None = None) -> dict[str, Any]:
        from .archive import ArchiveReader
        from .importer import new_report, place_previews, plan_archive
        from .recipes import drop_covers, place_covers

        _policy(on_conflict)
        report = new_report("archive", dry_run, on_conflict)
        with ArchiveReader(path, label) as reader, self._exclusive():
            changes, usage, previews, covers = plan_archive(self.store, reader, on_conflict, report, self.settings)
            if usage is not None:
                for _ in usage():  # reads (and so checks) every line before anything is written
                    pass
            pending = _pending(changes, report) or bool(previews)
            if dry_run or not pending:
                return report
            report["backup"] = self.backups.create("pre-import")["path"]
            if usage is not None:
                changes.generations = usage()
            placed = place_covers(self.settings.data_dir, covers)  # before the recipes that name them
            try:
                report["written"] = self.store.apply(changes)
            except BaseException:
                drop_covers(placed)
                raise
            report["written"]["recipe_covers"] = len(placed)
            report["written"]["previews"] = place_previews(reader, previews)
        self._touched()
        return report

    def import_peers(self, source: str, *, dry_run: bool = False, on_conflict: str = "keep") -> dict[str, Any]:
        from .importer import new_report
        from .peers import plan_peers

        _policy(on_conflict)
        report = new_report(source, dry_run, on_conflict)
        with self._exclusive():
            changes = plan_peers(self.store, source, on_conflict, report)
            if dry_run or not _pending(changes, report):
                return report
            report["backup"] = self.backups.create("pre-import")["path"]
            report["written"] = self.store.apply(changes)
        self._touched()
        return report

    def write_all_sidecars(self, *, dry_run: bool = False) -> dict[str, Any]:
        return self.writer.write(None, dry_run=dry_run)

    # ------------------------------------------------------------------ plumbing
    @contextlib.contextmanager
    def _exclusive(self):
        if not self._busy.acquire(blocking=False):
            raise Conflict("an import or restore is already running")
        try:
            yield
        finally:
            self._busy.release()

    def _touched(self) -> None:
        """Caches keyed on the write version see a commit; listeners (recommender, host list) hear of it."""
        try:
            with self.store.engine.begin():
                pass
            self._changed()
        except Exception:  # the data is written; a listener's failure is only logged
            log.exception("after import/restore")


def _policy(on_conflict: str) -> None:
    from ..errors import InvalidInput

    if on_conflict not in POLICIES:
        raise InvalidInput(f"on_conflict must be one of {', '.join(POLICIES)}")


def _pending(changes: Changes, report: dict[str, Any]) -> bool:
    usage = report.get("usage") or {}
    return bool(changes.user or changes.tags or changes.feedback or changes.collections or usage.get("added")
                or changes.recipes or changes.recipe_changes)
