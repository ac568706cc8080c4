"""The library repository: one object over the SQL index.

`LibraryRepository` is the contract the services use; `SqlLibraryRepository`
implements it for SQLite and PostgreSQL through SQLAlchemy Core.
"""

from __future__ import annotations

from sqlalchemy import Engine

from .engine import make_engine, migrate
from .query_store import LoraQuery, Page, QueryStore
from .scan_store import HashResult, IndexRow, ScanStore
from .user_store import UserStore

__all__ = ["SqlLibraryRepository", "LoraQuery", "Page", "HashResult", "IndexRow", "open_repository"]


class SqlLibraryRepository(ScanStore, QueryStore, UserStore):
    """Scan writes, reads and user edits over one engine."""

    def __init__(self, engine: Engine):
        super().__init__(engine)

    @property
    def kind(self) -> str:
        return self.dialect

    def close(self) -> None:
        self.engine.dispose()


def open_repository(url: str) -> SqlLibraryRepository:
    """Make the engine, run migrations, hand back the repository."""
    engine = make_engine(url)
    migrate(engine)
    return SqlLibraryRepository(engine)
