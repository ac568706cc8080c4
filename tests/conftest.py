"""Fixtures: a real migrated database on SQLite and on PostgreSQL (127.0.0.1:5432): its URL (`db_url`),
the opened `Db` alone (`db`, for store tests) or a whole core over it (`make_app`, `app`).

Each PostgreSQL test gets its own schema, dropped afterwards. Set
LORA_MANAGER_TEST_PG to the server URL; without it the default local server
is tried and its tests are skipped when it is not there. With the variable
set (as .ci/run does), an unreachable server fails the tests instead.
"""

from __future__ import annotations

import contextlib

import os
import uuid

import pytest

from lora_manager.app import build
from lora_manager.settings import Settings

from . import netguard

netguard.install()  # no test reaches the internet (tests/netguard.py)

PG_ENV = "LORA_MANAGER_TEST_PG"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_url() -> str:
    return os.environ.get(PG_ENV) or PG_DEFAULT


def _pg_available() -> bool:
    import psycopg

    url = _pg_url().replace("postgresql+psycopg://", "postgresql://")
    try:
        psycopg.connect(url, connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/library.db"
        return
    with pg_schema() as url:
        yield url


@contextlib.contextmanager
def pg_schema():
    """The test PostgreSQL URL with a fresh schema of its own, dropped afterwards (skip, or fail
    when LORA_MANAGER_TEST_PG says it should be there)."""
    if not _pg_available():
        if os.environ.get(PG_ENV):
            pytest.fail(f"PostgreSQL at {_pg_url()} is not reachable")
        pytest.skip("PostgreSQL not reachable (set LORA_MANAGER_TEST_PG)")
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    plain = _pg_url().replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in _pg_url() else "?"
    yield f"{_pg_url()}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def db(db_url):
    """The migrated database alone (a SQLite file, or a PostgreSQL schema): store tests build only the stores
    they test."""
    from lora_manager.storage.db import open_db

    database = open_db(db_url)
    yield database
    database.close()


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "loras"
    root.mkdir()
    return root


@pytest.fixture
def make_app(tmp_path, db_url):
    apps = []

    def _make(*roots, **kw):
        settings = Settings(lora_dirs=[str(r) for r in roots], data_dir=str(tmp_path / "data"), db_url=db_url, **kw)
        app = build(settings)
        apps.append(app)
        return app

    yield _make
    for app in apps:
        app.close()


@pytest.fixture
def app(make_app, library):
    return make_app(library)


def scan(app, wait: bool = True):
    return app.scan(wait_hashes=wait)


# Browser tests: `browser` (session, Playwright on headless Chromium) and `live_server` (a real standalone server).
from .browser import browser, live_server  # noqa: E402,F401
