"""What opening a library and starting `serve` keep in memory for the life of the process (issue 14: idle RSS).

Each check runs in a fresh interpreter, as a user's process starts: imports and caches of an earlier test would
hide what this one measures. See docs/performance-api.md.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from lora_manager.storage.db import open_db


def fresh(code: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def filled_library(tmp_path):
    """A new library with 48 MB of pages beside its tables: three times what a connection's page cache holds."""
    path = tmp_path / "library.db"
    open_db(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE filler (b BLOB)")
        conn.executemany("INSERT INTO filler VALUES (randomblob(3000))", [()] * 16_000)
    conn.close()
    return path


def test_the_start_up_check_leaves_no_page_cache_behind(tmp_path):
    """`PRAGMA quick_check` reads every page of the file at each start. Through the pooled connection's own
    16 MiB cache, those pages stayed resident for as long as the connection lived (the host's whole life in
    SDNext); now the check reads through a small cache, and the connection keeps its configured size."""
    path = filled_library(tmp_path)
    code = (
        "import sys\n"
        "from sqlalchemy import text\n"
        "from lora_manager.storage.opening import open_engine\n"
        "def rss():\n"
        "    return int(open('/proc/self/statm').read().split()[1]) * 4096\n"
        "engine = open_engine('sqlite:///' + sys.argv[1])\n"  # imports and a first open: not what is measured
        "engine.dispose()\n"
        "before = rss()\n"
        "engine = open_engine('sqlite:///' + sys.argv[1])\n"
        "grew = rss() - before\n"
        "with engine.connect() as conn:\n"
        "    size = conn.execute(text('PRAGMA cache_size')).scalar()\n"
        "print(grew >> 20, size)\n"
    )
    grew_mb, size = fresh(code, str(path)).split()
    assert int(size) == -16384  # the connection's cache is as configured for the queries after
    assert int(grew_mb) < 8, f"opening kept {grew_mb} MiB (a full page cache is 16)"


def test_serve_does_not_import_the_http_client_it_never_uses():
    """httpx (and through it rich and pygments) serves the commands that call a running server; `serve`'s
    import path (the CLI's, with cli/remote.py on it) must not load them."""
    code = (
        "import sys\n"
        "import lora_manager.cli.main, lora_manager.standalone.server, lora_manager.cli.jobs\n"
        "print(sorted(m for m in ('httpx', 'rich', 'pygments') if m in sys.modules))\n"
    )
    assert fresh(code).strip() == "[]"


def test_serve_builds_a_new_library_without_loading_alembic(tmp_path):
    """A new SQLite library opened the way `serve` opens it has its schema built in a child process: the same
    database, at the newest revision, with Alembic (5-8 MB that would stay for the server's life) never loaded."""
    code = (
        "import sys\n"
        "from lora_manager.storage.opening import open_engine\n"
        "from lora_manager.storage.schema_version import head_revision, is_current\n"
        "engine = open_engine('sqlite:///' + sys.argv[1], schema_in_child=True)\n"
        "print(is_current(engine), head_revision(), sorted(m for m in ('alembic', 'mako') if m in sys.modules))\n"
    )
    served, plain = tmp_path / "served.db", tmp_path / "plain.db"
    current, head, loaded = fresh(code, str(served)).split(maxsplit=2)
    assert (current, loaded.strip()) == ("True", "[]")
    open_db(f"sqlite:///{plain}").close()

    def schema(path) -> list[tuple]:
        with sqlite3.connect(path) as conn:
            return sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall())

    assert schema(served) == schema(plain)  # tables, indexes, triggers: the same as built in process
    with sqlite3.connect(served) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 16384
    assert not [p.name for p in tmp_path.iterdir() if ".new-" in p.name]  # no private copy left


def test_a_child_that_cannot_build_the_schema_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    from lora_manager.errors import StorageError
    from lora_manager.storage import new_schema
    from lora_manager.storage.opening import open_engine

    monkeypatch.setattr(new_schema.sys, "executable", str(tmp_path / "no-python-here"))
    path = tmp_path / "library.db"
    try:
        open_engine(f"sqlite:///{path}", schema_in_child=True)
    except StorageError as exc:
        assert "cannot build the new database" in exc.message
    else:
        raise AssertionError("a child that never ran built a database")
    assert list(tmp_path.iterdir()) == []  # neither library.db nor its private copy


def test_the_connection_kept_open_after_a_burst_keeps_no_page_cache(tmp_path):
    """After a burst the server closes its idle connections but keeps one open (standalone/server.py,
    PoolRelease). That one comes from the pool, and may be the connection a scan read the whole library
    through: its 16 MiB of cached pages stayed for the server's life (in about half of the starts measured)."""
    path = filled_library(tmp_path)
    code = (
        "import gc, sys\n"
        "from sqlalchemy import text\n"
        "from lora_manager.standalone.memtrim import trim\n"
        "from lora_manager.standalone.server import PoolRelease\n"
        "from lora_manager.storage.opening import open_engine\n"
        "def rss():\n"
        "    return int(open('/proc/self/statm').read().split()[1]) * 4096\n"
        "engine = open_engine('sqlite:///' + sys.argv[1])\n"
        "with engine.connect() as conn:\n"  # the pool's one connection reads every page, as a scan does
        "    conn.execute(text('SELECT sum(length(b)) FROM filler')).scalar()\n"
        "gc.collect(); trim(); full = rss()\n"
        "release = PoolRelease(engine)\n"
        "release()\n"  # the keeper is that connection: the pool holds no other
        "gc.collect(); trim()\n"
        "print((full - rss()) >> 20)\n"
        "release.close()\n"
    )
    freed_mb = int(fresh(code, str(path)))
    assert freed_mb >= 10, f"the kept connection still holds its pages ({freed_mb} MiB freed of 16)"
