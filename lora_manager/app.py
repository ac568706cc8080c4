"""Composition root: build the core from settings (and, later, a host adapter)."""

from __future__ import annotations

import os
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Optional
from collections.abc import Callable

from .usage.analytics import Analytics
from .errors import DatabaseUnusable
from .catalog.autocomplete import AutocompleteIndex
from .catalog.service import Catalog
from .events import EventBus
from .catalog.fileops import FileOps
from .sync.hasher import Hasher
from .sync.scanner import Scanner
from .standalone import memtrim
from .jobs.queue import JobQueue
from .recommend.service import Recommender
from .usage.recorder import Recorder
from .sync.scans import ScanService
from .settings import Settings
from .storage.opening import check_location
from .storage.repository import SqlLibraryRepository, open_repository
from .transfer.service import Transfer


@dataclass
class App:
    settings: Settings
    repo: SqlLibraryRepository
    scanner: Scanner
    hasher: Hasher
    files: FileOps
    catalog: Catalog
    events: EventBus
    scans: ScanService | None = None
    recorder: Recorder | None = None
    jobs: JobQueue | None = None
    analytics: Analytics | None = None
    recommender: Recommender | None = None
    # The family (sd1, xl, f1, ...) of the checkpoint the host has loaded; None standalone.
    host: dict[str, Any] | None = None  # {"name", "version"} when running inside a host
    on_library_changed: list = field(default_factory=list)  # callables run after files were added, moved or removed
    # The host's loaded checkpoint family (sd1, sd2, xl, sd3, f1, ...; None: unknown); set by a host adapter.
    host_model_family: Optional[Callable[[], Optional[str]]] = None
    autocomplete: AutocompleteIndex | None = None
    transfer: Transfer | None = None  # backups, restore, export/import, sidecars (transfer/)

    def loaded_family(self) -> str | None:
        """The host's loaded checkpoint family, or None (standalone, nothing loaded, or the host failed to say)."""
        fn = self.host_model_family
        if fn is None:
            return None
        try:
            value = fn()
        except Exception:  # the host's state is a reading here; never fail a request over it
            logging.getLogger(__name__).debug("host_model_family failed", exc_info=True)
            return None
        return value if isinstance(value, str) and value else None

    def scan(self, progress=None, *, hash_after: bool = True, wait_hashes: bool = False, wait_hook=None):
        """Scan, then hash in the background. With `wait_hashes`, wait for the
        hashes (calling `wait_hook()` while waiting) and count duplicates again,
        since duplicates are known only from full hashes."""
        report = self.scanner.scan(progress)
        if report.new or report.changed or report.moved or report.missing or report.returned:
            self.library_changed()
        if hash_after:
            self.hasher.wake()
            if wait_hashes:
                while not self.hasher.wait(0.2):
                    if wait_hook:
                        wait_hook()
                report.duplicate = self.repo.duplicate_count()
        return report

    def library_changed(self) -> None:
        """Tell listeners (the host's LoRA list) that files changed; in a background thread."""
        if not self.on_library_changed:
            return

        def run() -> None:
            for callback in list(self.on_library_changed):
                try:
                    callback()
                except Exception:  # a listener's failure is logged, never raised into a request
                    logging.getLogger(__name__).exception("library change listener failed")

        threading.Thread(target=run, name="lora-manager-changed", daemon=True).start()

    def start_usage_retention(self, every_s: float = 86400.0) -> threading.Event | None:
        """Compact raw usage events past the retention setting now and then daily, in a daemon thread.
        Returns the event that stops it (None when retention is off)."""
        days = self.settings.usage_retention_days
        if days <= 0 or self.analytics is None:
            return None
        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                try:
                    self.analytics.compact(days)
                except Exception:  # a failed compaction is retried the next day; recording goes on
                    logging.getLogger(__name__).exception("usage retention failed")
                stop.wait(every_s)

        threading.Thread(target=run, name="lora-manager-retention", daemon=True).start()
        self._retention_stop = stop
        return stop

    def close(self) -> None:
        if self.recommender is not None:
            self.recommender.close()
        stop = getattr(self, "_retention_stop", None)
        if stop is not None:
            stop.set()
        if self.transfer is not None:
            self.transfer.close()
        if self.recorder is not None:
            self.recorder.flush(10)
        self.hasher.stop()
        self.repo.close()


def build(settings: Settings, *, host: dict[str, Any] | None = None) -> App:
    transfer = Transfer(settings)
    with transfer.advice():  # a damaged database is refused naming the newest good backup
        prepare_data_dir(settings)
        repo = open_repository(settings.db_url, transfer.backups.before_migrate)
    events = EventBus()
    files = FileOps(repo, settings.lora_dirs, settings.trash_dir, link_targets=settings.link_targets)
    scanner = Scanner(repo, settings.lora_dirs, workers=settings.scan_workers, skip={settings.data_dir},
                      write_lock=files.lock, link_targets=settings.link_targets)
    hasher = Hasher(repo, workers=settings.hash_workers, on_event=events.publish)
    app = App(settings, repo, scanner, hasher, files, Catalog(repo), events, host=host)
    files.on_change = app.library_changed
    app.scans = ScanService(app.scan, events.publish)
    app.recorder = Recorder(repo, on_event=events.publish)
    app.jobs = JobQueue(app.catalog, events.publish)  # a host adapter gives it a runner
    app.analytics = Analytics(repo)
    app.autocomplete = AutocompleteIndex(repo, app.loaded_family)
    # Built idle: the model loads on first use or on recommender.start() (servers call it after start-up).
    app.recommender = Recommender(repo, settings.data_dir, model=settings.embed_model, device=settings.embed_device,
                                  host_family=app.loaded_family,
                                  cpu_threads=None if host else 1, allow_download=settings.embed_download,
                                  trim=None if host else memtrim.trim)
    app.on_library_changed.append(app.recommender.changed)
    app.catalog.on_edit.append(app.recommender.changed)
    transfer.attach(repo.engine, app.catalog, app.library_changed)
    app.transfer = transfer
    app.start_usage_retention()
    return app


def prepare_data_dir(settings: Settings) -> None:
    """Refuse a database or data directory that cannot work before creating anything (docs/data-safety.md)."""
    check_location(settings.db_url, will_create=settings.data_dir)
    try:
        os.makedirs(settings.data_dir, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnusable(f"cannot create the data directory {settings.data_dir}: {exc.strerror or exc}; "
                               f"give a writable --data-dir") from None
    if not os.access(settings.data_dir, os.W_OK):
        raise DatabaseUnusable(f"the data directory {settings.data_dir} is read-only: LoRA Manager keeps its database, "
                               f"trash and caches there; make it writable or give another --data-dir")
