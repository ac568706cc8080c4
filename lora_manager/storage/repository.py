"""The library repository: one object over the SQL index.

`LibraryRepository` is the contract the services use; `SqlLibraryRepository`
implements it for SQLite and PostgreSQL through SQLAlchemy Core.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Engine

from .entries import LIST_FIELDS  # noqa: F401 - the API's default list fields
from .opening import open_engine
from .query_store import LoraQuery, Page, QueryStore
from .scan_store import HashResult, IndexRow, ScanStore
from .analytics_store import AnalyticsStore
from .autocomplete_store import AutocompleteStore
from .feedback_store import FeedbackStore
from .range_store import RangeStore
from .usage_store import UsageStore
from .user_store import UserStore

__all__ = ["LibraryRepository", "SqlLibraryRepository", "LoraQuery", "Page", "HashResult", "IndexRow", "open_repository"]


class LibraryRepository(Protocol):
    """What the services need from an index. `SqlLibraryRepository` is the one
    implementation; a test double or another store only has to offer this."""

    kind: str

    # scans and hashing
    def file_index(self) -> dict[str, IndexRow]: ...
    def insert_files(self, rows: list[dict[str, Any]]) -> None: ...
    def update_files(self, updates: list[tuple[int, dict[str, Any]]], *, moved_from=None, expect=None) -> list[int]: ...
    def mark_missing(self, ids: list[int], offline: bool = False, *, expect=None) -> list[int]: ...
    def pending_hashes(self, limit: int = 1000, after: int = 0) -> list[tuple[int, str, int]]: ...
    def pending_hash_totals(self) -> tuple[int, int]: ...
    def save_hashes(self, results: list[HashResult], stale: list[HashResult] | None = None) -> list[int]: ...
    def duplicate_count(self) -> int: ...
    def counts(self) -> dict[str, int]: ...

    # reads
    def list_loras(self, q: LoraQuery) -> Page: ...
    def resolve(self, key: str | int) -> int: ...
    def get(self, key: str | int) -> dict[str, Any]: ...

    # user data and file moves
    def edit(self, ids: list[int], values: dict[str, Any]) -> int: ...
    def relocate(self, lid: int, row: dict[str, Any]) -> None: ...


class SqlLibraryRepository(ScanStore, QueryStore, UserStore, UsageStore, AnalyticsStore, RangeStore, AutocompleteStore,
                           FeedbackStore):
    """Scan writes, reads, user edits and recorded usage over one engine."""

    def __init__(self, engine: Engine):
        super().__init__(engine)

    @property
    def kind(self) -> str:
        return self.dialect

    def close(self) -> None:
        self.engine.dispose()


def open_repository(url: str, before_migrate=None) -> SqlLibraryRepository:
    """Check the database, make the engine, run migrations (see opening.py), hand back the repository."""
    return SqlLibraryRepository(open_engine(url, before_migrate))
