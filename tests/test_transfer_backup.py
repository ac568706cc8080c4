"""Backups and restore on SQLite and PostgreSQL: taken while running, kept by the rule, checked, put back;
a truncated database refuses to start naming the backup and the exact command, which then works."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from lora_manager.errors import BadRequest
from lora_manager.storage.schema_version import head_revision
from lora_manager.transfer.backups import Backups

from .test_db_open import read_only  # noqa: F401
from .transfer_helpers import fill, open_app, user_state, write_library


@pytest.fixture
def core(tmp_path, db_url):
    root = tmp_path / "lib"
    write_library(root)
    app = open_app(root, tmp_path / "data", db_url)
    fill(app)
    yield app
    app.close()


def test_backup_then_restore_puts_the_library_back(core, tmp_path):
    before = user_state(core)
    taken = core.transfer.backup()
    assert (
        taken["counts"]["loras"] == 3 and taken["counts"]["generations"] == 30 and taken["revision"] == head_revision()
    )
    listed = core.transfer.list_backups()["items"]
    assert [b["name"] for b in listed] == [taken["name"]] and core.transfer.backups.verify(listed[0])["ok"]
    core.catalog.edit("alice", {"notes": "changed after the backup", "tags": []})
    core.catalog.bulk(["carol"], "uncollect", "later")
    dry = core.transfer.restore(taken["name"], dry_run=True)
    assert not dry["restored"] and core.catalog.get("alice")["notes"] == "changed after the backup"
    assert len(core.transfer.list_backups()["items"]) == 1  # a dry run keeps nothing either
    done = core.transfer.restore(taken["name"])
    assert done["restored"] and os.path.exists(done["kept_as"]) and "pre-restore" in done["kept_as"]
    assert user_state(core) == before
    # and the database as it was before the restore is itself a good backup
    assert core.transfer.backups.verify(core.transfer.backups.find(done["kept_as"]))["ok"]


def test_a_backup_whose_bytes_changed_is_not_good(core):
    taken = core.transfer.backup()
    with open(taken["path"], "r+b") as f:
        f.seek(200)
        f.write(b"\xff" * 16)
    assert not core.transfer.backups.verify(core.transfer.backups.find(taken["path"]))["ok"]
    with pytest.raises(BadRequest, match="SHA-256"):
        core.transfer.restore(taken["name"])
    assert core.transfer.backups.newest_good() is None


def test_retention_keeps_recent_daily_and_weekly(tmp_path):
    folder = tmp_path / "b"
    folder.mkdir()
    backups = Backups(f"sqlite:///{tmp_path}/x.db", str(folder), keep=(3, 2))
    now = datetime(2025, 6, 11, 12, 0, tzinfo=timezone.utc)  # a Wednesday: ISO week 24 began on the 9th
    hours = (1, 5, 30, 31, 54, 80, 200, 400, 900)
    names = {}
    for i, h in enumerate(hours):
        created = now - timedelta(hours=h)
        name = names[h] = f"lora-manager-{created:%Y%m%dT%H%M%S}{i:03d}Z-daily.db"
        (folder / name).write_bytes(b"x")
        (folder / f"{name}.json").write_bytes(orjson.dumps({"format": "lora-manager-backup", "name": name,
                                                            "kind": "sqlite",
                                                             "created": created.isoformat(), "reason": "daily"}))
    removed = backups.prune(now=now)
    # kept: the last 24 h (1, 5), the newest of 3 days (11th: 1, 10th: 30, 9th: 54), of 2 weeks (24: 1, 23: 80)
    assert {b["name"] for b in backups.list()} == {names[h] for h in (1, 5, 30, 54, 80)}
    assert sorted(removed) == sorted(names[h] for h in (31, 200, 400, 900))
    assert not (folder / f"{names[900]}.json").exists()


def test_automatic_backup_runs_in_the_background_only_when_due(core):
    backups = core.transfer.backups
    assert backups.due()
    stop = backups.start_auto(every_s=0.05)
    try:
        for _ in range(200):
            if backups.list():
                break
            stop.wait(0.05)
        first = backups.list()
        assert len(first) == 1 and first[0]["reason"] == "daily"
        assert not backups.due()
        stop.wait(0.3)
        assert len(backups.list()) == 1
    finally:
        stop.set()


def test_migration_takes_a_backup_first_and_an_old_backup_restores_forward(tmp_path):
    from alembic import command
    from alembic.config import Config

    from lora_manager.storage.engine import MIGRATIONS, make_engine

    url = f"sqlite:///{tmp_path}/data/library.db"
    (tmp_path / "data").mkdir()
    engine = make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
        conn.commit()
    engine.dispose()
    root = tmp_path / "lib"
    write_library(root)
    app = open_app(root, tmp_path / "data", url)
    try:
        items = app.transfer.backups.list()
        assert [(b["reason"], b["revision"]) for b in items] == [("pre-migration", "0007")]
        report = app.transfer.restore(items[0]["name"])
        assert report["migrates"] and report["restored"]
        assert app.transfer.backups.store().describe()["revision"] == head_revision()
        app.scan(wait_hashes=True)
        assert app.catalog.list(limit=10).total == 3
    finally:
        app.close()


def run(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    return subprocess.run([sys.executable, "-m", "lora_manager", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_truncated_database_refuses_to_start_and_the_printed_command_restores_it(tmp_path):
    root = tmp_path / "lib"
    write_library(root)
    data = tmp_path / "data"
    assert run("scan", "--lora-dir", str(root), "--data-dir", str(data), "--wait-hashes").returncode == 0
    assert run("edit", "alice", "--data-dir", str(data), "--set", "notes=kept by the backup").returncode == 0
    taken = run("backup", "--data-dir", str(data), "--json")
    backup = orjson.loads(taken.stdout)["path"]
    db = data / "library.db"
    size = db.stat().st_size
    with open(db, "r+b") as f:
        f.truncate(size // 3)
    refused = run("list", "--data-dir", str(data))
    err = refused.stderr.strip()
    assert refused.returncode == 1 and "\n" not in err and "the database is damaged" in err and backup in err
    command = err.split("to put it back (the damaged file is kept): ", 1)[1]
    args = shlex.split(command)
    assert args[:4] == ["python", "-m", "lora_manager", "restore"]
    dry = run(*args[3:], "--dry-run")
    assert dry.returncode == 0 and "would restore" in dry.stdout and db.stat().st_size == size // 3
    done = run(*args[3:])
    assert done.returncode == 0, done.stderr
    kept = [n for n in os.listdir(data / "backups") if n.startswith("damaged-")]
    assert kept and os.path.getsize(data / "backups" / sorted(kept)[0]) == size // 3  # the damaged bytes, kept
    shown = orjson.loads(run("show", "alice", "--data-dir", str(data), "--json").stdout)
    assert shown["notes"] == "kept by the backup"


def test_restore_refuses_what_is_not_a_backup(core, tmp_path):
    bad = tmp_path / "nothing.db"
    bad.write_bytes(b"not sqlite at all")
    with pytest.raises(BadRequest):
        core.transfer.restore(str(bad))
    assert core.catalog.get("alice")["notes"] == "my best"


def test_an_older_dump_restores_forward_on_postgresql(tmp_path, db_url):
    """A backup of an older schema revision (taken before a migration) comes back and is migrated forward."""
    if not db_url.startswith("postgresql"):
        pytest.skip("the SQLite case is test_migration_takes_a_backup_first_and_an_old_backup_restores_forward")
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from lora_manager.storage.dump_store import PgDumpStore
    from lora_manager.storage.engine import MIGRATIONS, make_engine

    engine = make_engine(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
        conn.execute(text("INSERT INTO collections (name, created_at) VALUES ('from 0006', now())"))
        conn.commit()
    dump = str(tmp_path / "old.pg.zip")
    store = PgDumpStore(engine)
    assert store.backup_to(dump)["revision"] == "0006"
    engine.dispose()
    root = tmp_path / "lib"
    write_library(root)
    app = open_app(root, tmp_path / "data", db_url)  # migrates 0006 -> head (after its own backup)
    try:
        app.catalog.bulk(["alice"], "collect", "made at head")
        report = app.transfer.restore(dump)
        assert report["migrates"] and report["backup_revision"] == "0006"
        assert app.transfer.backups.store().describe()["revision"] == head_revision()
        assert [c["name"] for c in app.catalog.collections()] == ["from 0006"]
    finally:
        app.close()


def test_backup_without_a_database_creates_none(tmp_path):
    data = tmp_path / "nothing-here"
    proc = run("backup", "--data-dir", str(data))
    assert proc.returncode == 1 and "nothing to back up" in proc.stderr and not data.exists()


def test_a_read_only_backup_folder_is_one_clear_error(tmp_path, core, read_only):  # noqa: F811
    from lora_manager.errors import StorageError

    locked = tmp_path / "locked"
    locked.mkdir()
    read_only(locked)
    with pytest.raises(StorageError, match="could not write a backup"):
        core.transfer.backup(to=str(locked))
    assert os.listdir(locked) == []
