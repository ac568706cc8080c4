"""Several processes first-opening one new database: each waits its turn, none fails (docs/data-safety.md)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from .conftest import _pg_available, _pg_url

OPENER = """
import os, sys, time
from sqlalchemy import inspect, text
from lora_manager.storage.db import open_db
go = sys.argv[2]
while not os.path.exists(go):
    time.sleep(0.001)
db = open_db(sys.argv[1])
with db.engine.connect() as conn:
    print(conn.execute(text("SELECT version_num FROM alembic_version")).scalar(),
          "loras" in inspect(conn).get_table_names())
db.close()
"""
PROCESSES = 3
ROUNDS = 4


def _race(url: str, tmp_path) -> list[str]:
    go = tmp_path / f"go-{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    procs = [subprocess.Popen([sys.executable, "-c", OPENER, url, str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(PROCESSES)]
    time.sleep(1.5)  # let them import; the go file then starts all at once (the race is the point, not a timing assert)
    go.write_text("go")
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=False):
        assert p.returncode == 0, err[-2000:]
    return [out.strip() for out, _ in outs]


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from lora_manager.storage.engine import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    return ScriptDirectory.from_config(cfg).get_current_head()


def test_sqlite_first_open_by_several_processes(tmp_path):
    for i in range(ROUNDS):
        db = tmp_path / f"round{i}" / "library.db"
        db.parent.mkdir()
        assert _race(f"sqlite:///{db}", tmp_path) == [f"{_head()} True"] * PROCESSES
        # No private copies left behind. SQLite's own -wal and -shm may stay: the last of several processes
        # closing at once can find another still holding a lock and leave them (they are part of the database).
        left = set(os.listdir(db.parent)) - {"library.db-wal", "library.db-shm"}
        assert sorted(left) == ["library.db"]


def test_postgresql_first_open_by_several_processes(tmp_path):
    if not _pg_available():
        if os.environ.get("LORA_MANAGER_TEST_PG"):
            pytest.fail("PostgreSQL is not reachable")
        pytest.skip("PostgreSQL not reachable (set LORA_MANAGER_TEST_PG)")
    import psycopg

    plain = _pg_url().replace("postgresql+psycopg://", "postgresql://")
    sep = "&" if "?" in _pg_url() else "?"
    for _ in range(ROUNDS):
        schema = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        try:
            url = f"{_pg_url()}{sep}options=-csearch_path%3D{schema}"
            assert _race(url, tmp_path) == [f"{_head()} True"] * PROCESSES
        finally:
            with psycopg.connect(plain, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
