"""Database engines: SQLite (WAL) by default, PostgreSQL by URL; migrations on start.

Driver errors meaning damaged / disk full / read-only become our errors here
(failures.py); a migration holds a lock so that two processes starting on one
database take turns (docs/data-safety.md).
"""

from __future__ import annotations

import os

import orjson
from sqlalchemy import Engine, create_engine, event, text

from ..errors import LoraManagerError, StorageError
from .failures import translate

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


def _json_dumps(value) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str) -> Engine:
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://"):]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    kwargs: dict = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        # The folder is never created here: a missing one is the user's mistake to hear about (opening.py).
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:  # bad URL, missing driver: the message is what a user needs
        raise StorageError(f"cannot use database {redact(url)}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    path = sqlite_file(url)

    def on_error(ctx):
        return translate(ctx.original_exception, path)

    event.listen(engine, "handle_error", on_error)
    return engine


def sqlite_file(url: str) -> str | None:
    """The absolute path of a SQLite URL's file; None for PostgreSQL and in-memory databases."""
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    path = make_url(url).database
    return os.path.abspath(path) if path and path != ":memory:" and not path.startswith("file:") else None


# A new database's page: 16 KiB holds a whole LoRA row (a few KiB with its metadata) where 4 KiB spills it onto
# overflow pages, each freed and taken again whenever the row is rewritten (storing its hashes: about a third
# less work, docs/performance-hashing.md). Said before the journal mode, the only time SQLite takes it; an
# existing database keeps the page it was made with.
PAGE_SIZE = 16384


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA page_size={PAGE_SIZE}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-16384")  # 16 MiB per connection; a pool holds several
    cur.close()


def redact(url: str) -> str:
    """Hide a password in a URL before it reaches a log or a message."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        if ":" in cred:
            cred = cred.split(":", 1)[0] + ":***"
        return f"{scheme}://{cred}@{host}"
    return url


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic), in one transaction that holds a lock.

    Two processes first-opening one database take turns: PostgreSQL by an
    advisory lock per schema, SQLite by BEGIN IMMEDIATE (its write lock; the
    other waits on busy_timeout). The second then finds the schema current.
    """
    from alembic import command
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    try:
        head = ScriptDirectory.from_config(cfg).get_current_head()
        with engine.connect() as conn:
            if MigrationContext.configure(conn).get_current_revision() == head:
                return  # nothing to do: no lock taken
        with engine.connect() as conn:
            _migration_lock(conn)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()
    except LoraManagerError:
        raise
    except Exception as exc:
        raise StorageError(f"cannot prepare database {redact(str(engine.url))}: {exc}") from exc


def _migration_lock(conn) -> None:
    if conn.dialect.name == "postgresql":
        # Per schema (tests and several libraries may share one database); released at commit.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('lora_manager.migrate.' || current_schema()))"))
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
