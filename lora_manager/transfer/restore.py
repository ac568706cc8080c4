"""Putting a backup back, and what to say when the database cannot be opened (docs/transfer.md).

A restore checks the backup first (bytes as written, readable, a schema revision this code knows),
keeps the current database (a backup of it, or, when it is damaged, its very bytes copied aside),
then copies the backup in and migrates it forward if it is older. `dry_run` says all that and
changes nothing.
"""

from __future__ import annotations

import os
import shlex
import shutil
from typing import Any

from ..errors import BadRequest, DatabaseDamaged, DatabaseUnusable, LoraManagerError, StorageError
from ..storage.engine import redact, sqlite_file
from ..storage.schema_version import head_revision, known_revisions
from .backups import Backups, _now, _stamp


def restore(backups: Backups, ref: str, *, dry_run: bool = False, migrate=None) -> dict[str, Any]:
    """Restore the backup `ref` (a name in the backup folder or a path). `migrate(url)` brings a restored
    older copy to the current schema (default: storage.opening.open_engine, then closed)."""
    info = backups.find(ref)
    check = backups.verify(info)
    if not check["ok"]:
        raise BadRequest(f"the backup {info['path']} cannot be restored: {check['problem']}", {"path": info["path"]})
    revision = check.get("revision")
    if revision not in known_revisions():
        raise BadRequest(f"the backup {info['path']} has schema revision {revision!r}, unknown to this version of LoRA "
                         f"Manager (made by a newer one?); nothing was changed", {"path": info["path"]})
    store = backups.store()
    current = store.describe()
    report: dict[str, Any] = {
        "dry_run": dry_run, "backup": {k: info.get(k) for k in ("name", "path", "created", "reason", "size")},
        "backup_counts": check.get("counts", {}), "backup_revision": revision,
        "current_ok": current["ok"], "current_problem": current.get("problem"),
        "current_counts": current.get("counts", {}),
        "migrates": revision != head_revision(), "kept_as": None, "restored": False,
    }
    if dry_run:
        report["kept_as"] = ("a backup of the current database" if current["ok"]
                             else "a copy of the damaged file's bytes") + f" in {backups.folder}"
        return report
    try:
        if current["ok"]:
            report["kept_as"] = backups.create("pre-restore")["path"]
        else:
            report["kept_as"] = _keep_damaged(backups)
        store.restore_from(info["path"], check)
    except OSError as exc:
        raise StorageError(f"the restore could not write: {exc.strerror or exc}; nothing was restored") from None
    if report["migrates"]:
        (migrate or _migrate)(backups.url)
    report["restored"] = True
    return report


def _keep_damaged(backups: Backups) -> str | None:
    """The damaged SQLite file (and its -wal) copied as they are into the backup folder."""
    path = sqlite_file(backups.url)
    if path is None or not os.path.exists(path):
        return None
    os.makedirs(backups.folder, exist_ok=True)
    target = os.path.join(backups.folder, f"damaged-{_stamp(_now())}-{os.path.basename(path)}")
    shutil.copy2(path, target)
    if os.path.exists(path + "-wal"):
        shutil.copy2(path + "-wal", target + "-wal")
    return target


def _migrate(url: str) -> None:
    from ..storage.opening import open_engine

    open_engine(url).dispose()


def restore_command(backup_path: str, data_dir: str, db_url: str, default_db_url: str) -> str:
    """The exact command that restores `backup_path` into this database."""
    parts = ["python", "-m", "lora_manager", "restore", backup_path, "--data-dir", data_dir]
    if db_url != default_db_url:
        parts += ["--db", redact(db_url)]
    return shlex.join(parts)


def with_backup_advice(exc: LoraManagerError, settings) -> LoraManagerError:
    """The same error, its message naming the newest good backup and the command that restores it."""
    if not isinstance(exc, (DatabaseDamaged, DatabaseUnusable)):
        return exc
    if isinstance(exc, DatabaseUnusable) and not (exc.details.get("path") and os.path.exists(str(exc.details["path"]))):
        return exc  # a missing or read-only folder: no backup helps
    try:
        backups = Backups(settings.db_url, settings.backup_dir, settings.backup_keep)
        good = backups.newest_good() if backups.kind == "sqlite" else (backups.list() or [None])[0]
    except Exception:  # advice is best effort: the original error stands
        good = None
    if good is None:
        advice = f" No backup was found in {settings.backup_dir}."
    else:
        default = "sqlite:///" + os.path.join(settings.data_dir, "library.db")
        counts = good.get("counts") or {}
        advice = (
            f" The newest good backup is {good['path']} (taken {good['created']}, {counts.get('loras', '?')} LoRAs); "
            f"to put it back (the damaged file is kept): "
            f"{restore_command(good['path'], settings.data_dir, settings.db_url, default)}"
        )
    out = type(exc)(exc.message + advice, {**exc.details, "backup": good["path"] if good else None})
    return out
