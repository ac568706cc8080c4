"""Backups of the database: taken, listed, kept by a retention rule, verified (docs/transfer.md).

Each backup is one file in the backup folder (`LORA_MANAGER_BACKUP_DIR`, default `DATA_DIR/backups`):
SQLite `lora-manager-<UTC time>-<reason>.db`, a complete database in one file; PostgreSQL
`...-<reason>.pg.zip`, a logical dump of our tables. Beside it `<name>.json` says when, why, what
revision, how many rows and the file's SHA-256, so "good" can be checked without trusting the name.
A backup is written under a private name and renamed into place once complete and synced.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from .. import __version__
from ..errors import BadRequest, NotFound, StorageError
from ..storage.dump_store import DumpStore, SqliteDumpStore, dump_store
from ..storage.engine import redact, sqlite_file

log = logging.getLogger(__name__)
MANIFEST_FORMAT = "lora-manager-backup"
SUFFIXES = {"sqlite": ".db", "postgresql": ".pg.zip"}
_NAME = re.compile(r"^lora-manager-(\d{8}T\d{6}\d{3}Z)-([a-z-]{1,40})(?:-\d+)?(\.db|\.pg\.zip)$")
RECENT = timedelta(hours=24)  # every backup this young is kept, whatever the daily/weekly rule says
DUE_AFTER = timedelta(days=1)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}Z"


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: str, value: Any) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(orjson.dumps(value, option=orjson.OPT_INDENT_2))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Backups:
    """Backups of the database at `url`, in `folder`. `engine` is the open engine when there is one
    (PostgreSQL needs it; SQLite is copied by its file and works even when the server cannot start)."""

    def __init__(self, url: str, folder: str, keep: tuple[int, int] = (7, 4), engine=None):
        self.url = url
        self.folder = os.path.abspath(folder)
        self.keep = keep
        self.engine = engine
        self.kind = "sqlite" if url.startswith("sqlite") else "postgresql"
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None

    # ------------------------------------------------------------------ taking
    def store(self) -> DumpStore:
        path = sqlite_file(self.url)
        if path is not None:
            return SqliteDumpStore(path)
        if self.engine is None:
            from ..storage.engine import make_engine

            self.engine = make_engine(self.url)
        return dump_store(self.engine)

    def create(self, reason: str = "manual", to: str | None = None) -> dict[str, Any]:
        """Take a backup now (into `to`, a folder, when given; that folder is never pruned)."""
        folder = os.path.abspath(os.path.expanduser(to)) if to else self.folder
        if to and not os.path.isdir(folder):
            raise BadRequest(f"no such folder: {folder}")
        path = sqlite_file(self.url)
        if path is not None and not os.path.isfile(path):
            raise NotFound(f"there is no database at {path} yet: nothing to back up")  # and none is created
        try:
            os.makedirs(folder, exist_ok=True)
            return self._create(folder, reason)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(
                f"could not write a backup into {folder}: {getattr(exc, 'strerror', None) or exc}; "
                f"free some space or give another folder (LORA_MANAGER_BACKUP_DIR)",
                {"folder": folder},
            ) from None

    def _create(self, folder: str, reason: str) -> dict[str, Any]:
        with self._lock:
            created = _now()
            name = self._free_name(folder, f"lora-manager-{_stamp(created)}-{reason}", SUFFIXES[self.kind])
            final = os.path.join(folder, name)
            partial = os.path.join(folder, f".{name}.partial")
            try:
                facts = self.store().backup_to(partial)
                _fsync(partial)
                os.replace(partial, final)
            finally:
                if os.path.exists(partial):
                    os.unlink(partial)
            manifest = {"format": MANIFEST_FORMAT, "version": 1, "name": name, "created": created.isoformat(),
                        "reason": reason, "kind": self.kind, "size": os.path.getsize(final), "sha256": sha256_of(final),
                        "revision": facts["revision"], "counts": facts["counts"], "source": redact(self.url),
                        "app_version": __version__}
            _write_json(final + ".json", manifest)
        log.info("backup taken: %s (%s)", final, reason)
        if folder == self.folder:
            self.prune()
        return {**manifest, "path": final}

    @staticmethod
    def _free_name(folder: str, stem: str, suffix: str) -> str:
        name, n = stem + suffix, 1
        while os.path.exists(os.path.join(folder, name)):
            n += 1
            name = f"{stem}-{n}{suffix}"
        return name

    # ------------------------------------------------------------------ listing
    def list(self) -> list[dict[str, Any]]:
        """Backups in the folder, newest first (a file without its manifest is listed from its name)."""
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            m = _NAME.match(name)
            if not m:
                continue
            path = os.path.join(self.folder, name)
            info = self._manifest(path) or {
                "name": name, "reason": m.group(2), "kind": "sqlite" if m.group(3) == ".db" else "postgresql",
                "created": datetime.strptime(m.group(1)[:15], "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc).isoformat(),
                "size": os.path.getsize(path), "sha256": None, "revision": None, "counts": {}}
            out.append({**info, "path": path})
        return sorted(out, key=lambda b: (b["created"], b["name"]), reverse=True)

    @staticmethod
    def _manifest(path: str) -> dict[str, Any] | None:
        try:
            with open(path + ".json", "rb") as f:
                data = orjson.loads(f.read(1 << 20))
        except (OSError, orjson.JSONDecodeError):
            return None
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            return None
        return {k: data.get(k) for k in ("name", "created", "reason", "kind", "size", "sha256", "revision", "counts")}

    def find(self, ref: str) -> dict[str, Any]:
        """A backup by its name in the folder or by a path to the file."""
        path = os.path.abspath(os.path.expanduser(ref))
        if os.sep not in ref and not os.path.isfile(path):
            path = os.path.join(self.folder, ref)
        if not os.path.isfile(path):
            raise NotFound(f"no backup {ref!r} (names: `lora-manager backups`)")
        info = self._manifest(path) or {"name": os.path.basename(path), "created": None, "reason": None,
                                        "kind": "postgresql" if path.endswith(".zip") else "sqlite",
                                        "size": os.path.getsize(path), "sha256": None, "revision": None, "counts": {}}
        return {**info, "path": path}

    def verify(self, info: dict[str, Any]) -> dict[str, Any]:
        """Is this backup good: its bytes as written (SHA-256 of its manifest), and readable as a copy?"""
        if info.get("kind") != self.kind:
            return {"ok": False,
                    "problem": f"a {info.get('kind')} backup cannot be restored into a {self.kind} database"}
        if info.get("sha256") and sha256_of(info["path"]) != info["sha256"]:
            return {"ok": False, "problem": "its bytes changed since it was taken (SHA-256 differs from its manifest)"}
        return self.store().inspect_copy(info["path"])

    def newest_good(self) -> dict[str, Any] | None:
        for info in self.list():
            if self.verify(info)["ok"]:
                return info
        return None

    # ------------------------------------------------------------------ retention
    def prune(self, now: datetime | None = None) -> list[str]:
        """Drop backups the rule does not keep: every one of the last 24 h, the newest of each of the
        last DAILY days and of the last WEEKLY weeks (UTC), and always the newest of all."""
        backups = self.list()
        keep: set[str] = {b["name"] for b in backups[:1]}
        now = now or _now()
        daily, weekly = self.keep
        days: dict[str, str] = {}
        weeks: dict[tuple[int, int], str] = {}
        for b in backups:  # newest first: the first seen per day / week is its newest
            when = datetime.fromisoformat(b["created"])
            if now - when < RECENT:
                keep.add(b["name"])
            day = when.date().isoformat()
            if day not in days and len(days) < daily:
                days[day] = b["name"]
            week = tuple(when.isocalendar())[:2]
            if week not in weeks and len(weeks) < weekly:
                weeks[week] = b["name"]
        keep |= set(days.values()) | set(weeks.values())
        removed = []
        for b in backups:
            if b["name"] not in keep:
                for path in (b["path"], b["path"] + ".json"):
                    try:
                        os.unlink(path)
                    except FileNotFoundError:
                        pass
                removed.append(b["name"])
        self._clear_partials()
        return removed

    def _clear_partials(self) -> None:
        """Leftovers of a backup interrupted by a kill, an hour old or more."""
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return
        for name in names:
            path = os.path.join(self.folder, name)
            if name.startswith(".lora-manager-") and name.endswith(".partial"):
                try:
                    if _now().timestamp() - os.path.getmtime(path) > 3600:
                        os.unlink(path)
                except OSError:
                    pass

    # ------------------------------------------------------------------ automatic
    def due(self) -> bool:
        newest = self.list()[:1]
        return not newest or _now() - datetime.fromisoformat(newest[0]["created"]) >= DUE_AFTER

    def start_auto(self, every_s: float = 3600.0) -> threading.Event:
        """A daemon thread: a backup at start when the newest is a day old, then checked hourly.
        Never blocks the caller (the host's start-up, the server's)."""
        stop = self._stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                try:
                    if self.due():
                        self.create("daily")
                except Exception:  # a failed backup is logged and tried again; nothing else stops
                    log.exception("automatic backup failed")
                stop.wait(every_s)

        threading.Thread(target=run, name="lora-manager-backup", daemon=True).start()
        return stop

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def before_migrate(self, engine) -> None:
        """Called by storage.opening before it migrates an existing database."""
        self.engine = engine
        if self.store().describe().get("revision") is None:
            return  # a new, empty database: nothing to keep
        self.create("pre-migration")  # when it cannot be taken, the migration does not run either
