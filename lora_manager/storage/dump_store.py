"""Whole-database copies: the SQL side of backups and restores (transfer/backup.py decides when and where).

SQLite is copied page by page through its online backup API (`sqlite3.Connection.backup`): a consistent
copy while the server keeps running, and a restore that writes into the live file under SQLite's own
locks. PostgreSQL is dumped logically: every table of ours, one JSON-lines member per table in a zip,
read in one REPEATABLE READ snapshot; no `pg_dump` needed (it may be absent, or of another version than
the server). A restore replaces our tables in one transaction (PostgreSQL's DDL is transactional),
emptied (same schema revision) or recreated at the dump's own revision and then migrated forward. See docs/transfer.md.
"""

from __future__ import annotations

import os
import sqlite3
import zipfile
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, MetaData, insert, select, text
from sqlalchemy.sql import sqltypes

from .models import Base

# Tables whose row counts describe a copy (a person recognises their library by these).
COUNTED = ("loras", "lora_user", "lora_tags", "collections", "generations")
PG_DUMP_FORMAT = "lora-manager-postgresql-dump"
PG_DUMP_VERSION = 1
BATCH = 5000


class DumpStore(ABC):
    """Copies of one database, whole."""

    @abstractmethod
    def backup_to(self, path: str) -> dict[str, Any]:
        """Write a complete, consistent copy of the database to `path` (a new file); returns
        {"revision", "counts"} of what was copied."""

    @abstractmethod
    def restore_from(self, path: str, info: dict[str, Any]) -> None:
        """Replace the database's contents by the copy at `path` (checked by `inspect_copy`), all or nothing."""

    @abstractmethod
    def inspect_copy(self, path: str) -> dict[str, Any]:
        """What a copy holds: {"ok", "problem", "revision", "counts"}; never raises on a bad file."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """The live database: {"ok", "problem", "revision", "counts"}; never raises."""


def dump_store(engine: Engine) -> DumpStore:
    if engine.dialect.name == "sqlite":
        return SqliteDumpStore(engine.url.database or "")
    return PgDumpStore(engine)


# --------------------------------------------------------------------------- SQLite


def _counts(cur) -> dict[str, int]:
    out = {}
    for table in COUNTED:
        try:
            out[table] = int(cur.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608 - our names
        except sqlite3.Error:
            out[table] = 0  # an older revision without the table
    return out


def sqlite_describe(path: str, *, check: bool = True) -> dict[str, Any]:
    """Integrity, revision and counts of a SQLite file, read-only; never raises."""
    if not os.path.isfile(path):
        return {"ok": False, "problem": "no such file", "revision": None, "counts": {}}
    try:
        with open(path, "rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                return {"ok": False, "problem": "not a SQLite database", "revision": None, "counts": {}}
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    except (OSError, sqlite3.Error) as exc:
        return {"ok": False, "problem": f"cannot be read: {exc}", "revision": None, "counts": {}}
    try:
        if check:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check(3)")]
            if rows != ["ok"]:
                return {"ok": False, "problem": "fails SQLite's integrity check: " + "; ".join(rows)[:300],
                        "revision": None, "counts": {}}
        try:
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            return {"ok": False, "problem": "not a LoRA Manager database (no schema revision)", "revision": None,
                    "counts": {}}
        return {"ok": True, "problem": None, "revision": revision[0] if revision else None, "counts": _counts(conn)}
    except sqlite3.Error as exc:
        return {"ok": False, "problem": f"cannot be read as a database: {exc}", "revision": None, "counts": {}}
    finally:
        conn.close()


def sqlite_copy(source: str, target: str) -> None:
    """Copy the SQLite database `source` into the file `target` (new or live) through the backup API.
    A new target becomes one self-contained file (rollback journal, no -wal beside it)."""
    fresh = not os.path.exists(target)
    src = sqlite3.connect(source, timeout=30)  # read only by use; a read-only open of a WAL file may fail
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)  # one step: a read transaction on the source, writers go on (WAL)
            if fresh:
                dst.execute("PRAGMA journal_mode=DELETE")
            dst.commit()
        finally:
            dst.close()
    finally:
        src.close()


class SqliteDumpStore(DumpStore):
    def __init__(self, path: str):
        self.path = os.path.abspath(path)

    def backup_to(self, path: str) -> dict[str, Any]:
        sqlite_copy(self.path, path)
        info = sqlite_describe(path, check=False)
        return {"revision": info["revision"], "counts": info["counts"]}

    def restore_from(self, path: str, info: dict[str, Any]) -> None:
        live = sqlite_describe(self.path)
        if live["ok"]:
            sqlite_copy(path, self.path)  # into the live file, under SQLite's locks: other readers see old or new
            return
        # A damaged file cannot take pages: a complete copy beside it replaces it in one rename.
        tmp = f"{self.path}.restore-{os.getpid()}"
        try:
            sqlite_copy(path, tmp)
            for suffix in ("-wal", "-shm", "-journal"):
                try:
                    os.unlink(self.path + suffix)  # belonged to the damaged file (already kept aside by the caller)
                except FileNotFoundError:
                    pass
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def inspect_copy(self, path: str) -> dict[str, Any]:
        return sqlite_describe(path)

    def describe(self) -> dict[str, Any]:
        return sqlite_describe(self.path)


# --------------------------------------------------------------------------- PostgreSQL


def _our_tables(conn) -> MetaData:
    """Our tables as the database has them now (reflected: the dump follows the live revision)."""
    names = set(Base.metadata.tables) | {"alembic_version"}
    present = set(conn.dialect.get_table_names(conn))
    meta = MetaData()
    meta.reflect(conn, only=sorted(names & present))
    return meta


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


class PgDumpStore(DumpStore):
    def __init__(self, engine: Engine):
        self.engine = engine

    def backup_to(self, path: str) -> dict[str, Any]:
        tables: dict[str, Any] = {}
        with self.engine.connect() as conn, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            conn.execution_options(isolation_level="REPEATABLE READ")  # one snapshot for every table
            with conn.begin():
                meta = _our_tables(conn)
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                for table in meta.sorted_tables:
                    cols = [str(c.name) for c in table.c]
                    n = 0
                    with zf.open(f"tables/{table.name}.jsonl", "w") as out:
                        result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(select(table))
                        for part in result.partitions():
                            out.write(b"".join(orjson.dumps([_json_value(v) for v in row]) + b"\n" for row in part))
                            n += len(part)
                    tables[str(table.name)] = {"columns": cols, "rows": n}
                counts = {t: tables.get(t, {}).get("rows", 0) for t in COUNTED}
            manifest = {"format": PG_DUMP_FORMAT, "version": PG_DUMP_VERSION, "revision": revision, "tables": tables}
            zf.writestr("manifest.json", orjson.dumps(manifest))
        return {"revision": revision, "counts": counts}

    def inspect_copy(self, path: str) -> dict[str, Any]:
        try:
            with zipfile.ZipFile(path) as zf:
                manifest = orjson.loads(zf.read("manifest.json"))
                if not isinstance(manifest, dict) or manifest.get("format") != PG_DUMP_FORMAT:
                    return {"ok": False, "problem": "not a LoRA Manager PostgreSQL dump", "revision": None,
                            "counts": {}}
                if manifest.get("version") != PG_DUMP_VERSION:
                    return {"ok": False, "problem": f"dump format version {manifest.get('version')!r} is unknown",
                            "revision": None, "counts": {}}
                bad = zf.testzip()
                if bad is not None:
                    return {"ok": False, "problem": f"member {bad} is damaged (CRC)", "revision": None, "counts": {}}
                tables = manifest.get("tables") or {}
                missing = [t for t in tables if f"tables/{t}.jsonl" not in zf.namelist()]
                if missing:
                    return {"ok": False, "problem": f"tables missing: {', '.join(missing)}", "revision": None,
                            "counts": {}}
        except (OSError, zipfile.BadZipFile, KeyError, orjson.JSONDecodeError) as exc:
            return {"ok": False, "problem": f"not a readable dump: {exc}", "revision": None, "counts": {}}
        counts = {t: int(tables.get(t, {}).get("rows", 0)) for t in COUNTED}
        return {"ok": True, "problem": None, "revision": manifest.get("revision"), "counts": counts}

    def describe(self) -> dict[str, Any]:
        try:
            with self.engine.connect() as conn:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                present = set(conn.dialect.get_table_names(conn))
                # noqa: S608
                counts = {t: int(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar()) if t in present else 0
                          for t in COUNTED}
        except Exception as exc:  # unreachable server, no schema: a description, not an error
            return {"ok": False, "problem": str(exc).splitlines()[0][:300], "revision": None, "counts": {}}
        return {"ok": True, "problem": None, "revision": revision, "counts": counts}

    def restore_from(self, path: str, info: dict[str, Any]) -> None:
        with self.engine.connect() as conn, zipfile.ZipFile(path) as zf:
            manifest = orjson.loads(zf.read("manifest.json"))
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('lora_manager.migrate.' || current_schema()))"))
            live_revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if manifest["revision"] == live_revision:
                meta = _our_tables(conn)  # same schema: empty our tables, no DDL beyond TRUNCATE
                names = ", ".join(t.name for t in meta.sorted_tables if t.name != "alembic_version")
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                meta = self._recreate(conn, manifest["revision"])
            for table in meta.sorted_tables:
                spec = manifest["tables"].get(table.name)
                if spec and table.name != "alembic_version":
                    if table.name == "lora_hashes":  # the loras rows' trigger made them just now (0022): the dump's
                        conn.execute(table.delete())  # own rows take their place
                    self._load(conn, zf, table, spec["columns"])
            if manifest["revision"] != live_revision:
                self._upgrade(conn, "head")  # then forward, data migrations included
            conn.commit()
            for table in meta.sorted_tables:  # fresh rows, fresh planner statistics (our tables only)
                conn.execute(text(f"ANALYZE {table.name}"))
            conn.commit()

    def _recreate(self, conn, revision: str) -> MetaData:
        """Our tables dropped (by name; DDL rolls back with the rest on failure) and built again at `revision`."""
        _our_tables(conn).drop_all(conn)
        self._upgrade(conn, revision)
        return _our_tables(conn)

    @staticmethod
    def _upgrade(conn, revision: str) -> None:
        from alembic import command
        from alembic.config import Config

        from .engine import MIGRATIONS

        cfg = Config()
        cfg.set_main_option("script_location", MIGRATIONS)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    @staticmethod
    def _load(conn, zf: zipfile.ZipFile, table, columns: list[str]) -> None:
        unknown = [c for c in columns if c not in table.c]
        if unknown:
            raise ValueError(f"table {table.name}: columns {unknown} are not in its schema revision")
        dated = {i for i, c in enumerate(columns) if isinstance(table.c[c].type, sqltypes.DateTime)}
        batch: list[dict[str, Any]] = []
        with zf.open(f"tables/{table.name}.jsonl") as lines:
            for line in lines:
                values = orjson.loads(line)
                for i in dated:
                    if isinstance(values[i], str):
                        values[i] = datetime.fromisoformat(values[i])
                batch.append(dict(zip(columns, values, strict=True)))
                if len(batch) >= BATCH:
                    conn.execute(insert(table), batch)
                    batch = []
        if batch:
            conn.execute(insert(table), batch)
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and isinstance(pk[0].type, sqltypes.Integer):
            # rows came with their ids: the id sequence continues after the highest
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk[0].name}'), "
                              f"COALESCE((SELECT MAX({pk[0].name}) FROM {table.name}), 0) + 1, false) "
                              f"WHERE pg_get_serial_sequence('{table.name}', '{pk[0].name}') IS NOT NULL"))
