"""Every store over one database, built in one place (app.build hands each service only its own)."""

from __future__ import annotations

from dataclasses import dataclass

from .analytics_store import AnalyticsStore, SqlAnalyticsStore
from .autocomplete_store import AutocompleteStore, SqlAutocompleteStore
from .catalog_store import CatalogStore, SqlCatalogStore
from .civitai_store import CivitaiStore, SqlCivitaiStore
from .db import Db
from .feedback_store import FeedbackStore, SqlFeedbackStore
from .fileops_store import FileOpsStore, SqlFileOpsStore
from .range_store import RangeStore, SqlRangeStore
from .scan_store import ScanStore, SqlScanStore
from .training_store import SqlTrainingTagStore, TrainingTagStore
from .usage_store import SqlUsageStore, UsageStore
from .user_store import SqlUserStore, UserStore


@dataclass(frozen=True)
class Stores:
    scan: ScanStore
    catalog: CatalogStore
    user: UserStore
    usage: UsageStore
    analytics: AnalyticsStore
    ranges: RangeStore
    autocomplete: AutocompleteStore
    feedback: FeedbackStore
    civitai: CivitaiStore
    fileops: FileOpsStore
    training: TrainingTagStore


def sql_stores(db: Db) -> Stores:
    """The SQL stores over `db` (SQLite or PostgreSQL)."""
    return Stores(scan=SqlScanStore(db), catalog=SqlCatalogStore(db), user=SqlUserStore(db), usage=SqlUsageStore(db),
                  analytics=SqlAnalyticsStore(db), ranges=SqlRangeStore(db), autocomplete=SqlAutocompleteStore(db),
                  feedback=SqlFeedbackStore(db), civitai=SqlCivitaiStore(db),
                  fileops=SqlFileOpsStore(db), training=SqlTrainingTagStore(db))
