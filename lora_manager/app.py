"""Composition root: build the core from settings (and, later, a host adapter)."""

from __future__ import annotations

import os
import logging
from dataclasses import dataclass, field
from typing import Any, Optional
from collections.abc import Callable

from .usage.analytics import Analytics
from .errors import DatabaseUnusable
from .catalog import actions as library_actions
from .catalog.autocomplete import AutocompleteIndex
from .catalog.service import Catalog
from .civitai.service import CivitaiService
from .events import EventBus
from .catalog.fileops import FileOps
from .civitai import services as civitai_services
from .hosts.setup import hosts_service, shared_stores
from .sync.hasher import Hasher
from .sync.scanner import Scanner
from .standalone import memtrim
from .jobs.queue import JobQueue
from .recommend.service import Recommender
from .recipes.service import Recipes
from .storage.recipe_store import SqlRecipeStore
from .usage.recorder import Recorder
from .usage.retention import UsageRetention
from .sync.scans import ScanService
from .storage.version_guesses import settle_guesses
from .sync.training import TrainingTagsPass
from .settings import Settings
from .storage.db import Db, open_db
from .storage.opening import check_location
from .storage.stores import sql_stores
from .transfer.service import Transfer


class LoadedFamily:
    """The host's loaded checkpoint family (sd1, sd2, xl, sd3, f1, ...), as a host adapter tells it.

    Services are built with this object before any host is attached; the adapter sets `source`
    later (standalone it stays None: the family is unknown)."""

    def __init__(self) -> None:
        self.source: Optional[Callable[[], Optional[str]]] = None

    def __call__(self) -> str | None:
        """The family, or None (standalone, nothing loaded, or the host failed to say)."""
        fn = self.source
        if fn is None:
            return None
        try:
            value = fn()
        except Exception:  # the host's state is a reading here; never fail a request over it
            logging.getLogger(__name__).debug("host_model_family failed", exc_info=True)
            return None
        return value if isinstance(value, str) and value else None


@dataclass
class App:
    """The core: every service, built by `build`. Faces reach the database through services
    (and `db` for its health), never through the stores."""

    settings: Settings
    db: Db
    events: EventBus
    scanner: Scanner
    hasher: Hasher
    scans: ScanService
    files: FileOps
    catalog: Catalog
    jobs: JobQueue
    recorder: Recorder
    analytics: Analytics
    retention: UsageRetention
    autocomplete: AutocompleteIndex
    recommender: Recommender
    civitai: CivitaiService
    transfer: Transfer
    family: LoadedFamily = field(default_factory=LoadedFamily)
    # Civitai update checks and downloads (civitai/services.py): they drive the core's own services
    # (files, hasher, catalog), so they are attached once the core exists.
    civitai_updates: Any = None
    civitai_downloads: Any = None
    civitai_clients: Any = None
    actions: Any = None  # folders, trash for good, forget, duplicates resolved, organize, previews (catalog/actions.py)
    host: dict[str, Any] | None = None  # {"name", "version"} when running inside a host
    recipes: Any = None  # recipes/service.py's Recipes, over its store, the catalog and the job queue
    generation: Any = None  # jobs/services.Generation: inputs, results, sweeps, preview generation
    hosts: Any = None  # the hosts of a library several share (hosts/service.py): heartbeat, notices, GET /hosts

    @property
    def host_model_family(self) -> Optional[Callable[[], Optional[str]]]:
        """The host's loaded checkpoint family (None: unknown); set by a host adapter."""
        return self.family.source

    @host_model_family.setter
    def host_model_family(self, fn: Optional[Callable[[], Optional[str]]]) -> None:
        self.family.source = fn

    def loaded_family(self) -> str | None:
        """The host's loaded checkpoint family, or None (standalone, nothing loaded, or the host failed to say)."""
        return self.family()

    def scan(self, progress=None, *, hash_after: bool = True, wait_hashes: bool = False, wait_hook=None):
        """Scan, then hash in the background (see ScanService.run); return once the training tags are read."""
        return self.scans.run(progress, hash_after=hash_after, wait_hashes=wait_hashes, wait_hook=wait_hook,
                              wait_training=True)

    def close(self) -> None:
        if hasattr(self.jobs, "stop"):
            self.jobs.stop()
        civitai_services.close(self)
        self.civitai.stop()
        self.recommender.close()
        self.retention.stop()
        self.transfer.close()
        self.recorder.flush(10)
        self.hasher.stop()
        self.scans.training.stop()
        if self.hosts is not None:
            self.hosts.stop()
        self.db.close()


def build(settings: Settings, *, host: dict[str, Any] | None = None, schema_in_child: bool = False) -> App:
    """Every part, once, each service given only the stores it uses; then the App over them.
    `schema_in_child`: a new SQLite library's schema is built in a child process (`serve`: storage/new_schema.py)."""
    transfer = Transfer(settings)
    with transfer.advice():  # a damaged database is refused naming the newest good backup
        prepare_data_dir(settings)
        db = open_db(settings.db_url, transfer.backups.before_migrate,  # a backup before any migration
                     schema_in_child=schema_in_child)
    stores, guard = shared_stores(settings, db, sql_stores(db))  # several hosts: this host's locations
    events = EventBus()
    if guard is not None:
        guard.publish = events.publish
    family = LoadedFamily()
    files = FileOps(stores.catalog, stores.user, events, settings.lora_dirs, settings.trash_dir,
                    link_targets=settings.link_targets)
    scanner = Scanner(stores.scan, stores.catalog, settings.lora_dirs, workers=settings.scan_workers,
                      skip={settings.data_dir}, write_lock=files.lock, link_targets=settings.link_targets,
                      guard=guard)
    civitai: list[CivitaiService] = []  # built below; the hasher's listener reaches it once it exists
    # After hashing, a Civitai model sidecar's version is picked again with the file's hash (docs/formats.md):
    # of the LoRAs the hasher stored hashes of (a run's own, not the whole library's).
    hasher = Hasher(stores.scan, stores.catalog, workers=settings.hash_workers, on_event=events.publish,
                    after_hashing=lambda ids: [c.resolve_sidecar_versions(ids) for c in civitai])
    catalog = Catalog(stores.catalog, stores.user, events)
    # Every entry read (get, edit, move, trash...) carries Civitai's facts beside its own fields.
    stores.catalog.civitai_facts = lambda lid: civitai[0].civitai_facts(lid)  # noqa: PLW0108 (built below)
    analytics = Analytics(stores.analytics, stores.ranges, stores.usage)
    training = TrainingTagsPass(stores.training, workers=settings.scan_workers,
                                on_filled=lambda ids: events.library_changed(ids, filled=True))
    # Built idle: the model loads on first use or on recommender.start() (servers call it after start-up).
    # Its re-reads of the whole library wait for the training tags pass to fill it in (recommend/pacing.py).
    recommender = Recommender(stores.catalog, stores.feedback, settings.data_dir, model=settings.embed_model,
                              device=settings.embed_device, host_family=family, cpu_threads=None if host else 1,
                              allow_download=settings.embed_download, trim=None if host else memtrim.trim,
                              hold=lambda: training.running)
    # It only takes note (its own thread re-reads): told at once, edits and file changes alike.
    events.on_library_changed(recommender.changed, inline=True)
    civitai.append(CivitaiService(stores.civitai, settings, events.publish, resolve_many=catalog.resolve_many,
                                  write_lock=files.lock, reread=_rereader(stores, files, events),
                                  settle=lambda hints: settle_guesses(db, hints)))
    transfer.attach(db.engine, events)  # backups, export/import, sidecar write-back
    app = App(
        settings=settings, db=db, events=events, scanner=scanner, hasher=hasher,
        # A scan that read sidecars of hashed files anew picks Civitai model versions again with the hashes.
        # Of the LoRAs the scan rewrote; None (every LoRA) the first time in a process (sync/scans.py).
        scans=ScanService(scanner, hasher, events, after_scan=lambda ids: civitai[0].resolve_sidecar_versions(ids),  # noqa: PLW0108
                          training=training),
        files=files, catalog=catalog,
        jobs=_jobs(settings, db, catalog, events, family),  # a host adapter gives it a runner
        recorder=Recorder(stores.usage, on_event=events.publish), analytics=analytics,
        retention=UsageRetention(analytics.compact, settings.usage_retention_days),
        autocomplete=AutocompleteIndex(stores.autocomplete, lambda: db.write_version, family),
        recommender=recommender, civitai=civitai[0], transfer=transfer, family=family, host=host,
    )
    app.actions = library_actions.build(files, catalog, stores.catalog, stores.fileops, events)
    app.recipes = Recipes(SqlRecipeStore(db), catalog, app.jobs, family, settings.data_dir)
    app.hosts = hosts_service(settings, db, events, app.jobs, family, kind="sdnext" if host else "standalone")
    app.retention.start()
    if hasattr(app.jobs, "start"):
        app.jobs.start()  # the shared queue's threads (several hosts); they connect to Redis themselves
    civitai_services.attach(app, stores)  # update checks and the download queue work through the core's services
    from .jobs.services import attach as attach_generation

    attach_generation(app, _rereader(stores, files, events))  # img2img/control inputs, results, sweeps, previews
    return app


def _jobs(settings: Settings, db, catalog: Catalog, events: EventBus, family: LoadedFamily):
    """This host's job queue; with a Redis URL, the queue shared by several hosts around it."""
    local = JobQueue(catalog, events.publish)
    if not settings.redis_url:
        return local
    from .hosts.identity import host_id
    from .jobs.shared import SharedJobs
    from .storage.job_images_store import JobImagesStore

    return SharedJobs(local, settings.redis_url, host_id(settings), catalog, events.publish,
                      JobImagesStore(db), settings.data_dir, family=family, roots=settings.lora_dirs)


def _rereader(stores, files: FileOps, events: EventBus):
    """Read LoRAs' files again (a sidecar or preview just written shows at once; `hints`: their hashes)."""

    def reread(ids: list[int], hints: dict[int, str] | None) -> None:
        from .sync.reprobe import reprobe

        with files.lock:
            reprobe(stores.scan, stores.catalog, ids, hints)
        events.library_changed()  # files changed: the host's list shows the new previews

    return reread


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
