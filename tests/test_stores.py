"""Stores on their own: each built over a `Db` (SQLite and PostgreSQL), without the rest of the core."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from lora_manager.errors import InvalidInput, NotFound
from lora_manager.library.hashing import hash_file
from lora_manager.library.probe import probe_many
from lora_manager.library.walker import entry_for
from lora_manager.storage.catalog_store import LoraQuery, SqlCatalogStore
from lora_manager.storage.feedback_store import SqlFeedbackStore
from lora_manager.storage.scan_store import HashResult, SqlScanStore
from lora_manager.storage.usage_store import SqlUsageStore
from lora_manager.storage.user_store import SqlUserStore

from .loras import file_sha256, write_lora

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def _index(db, library, names) -> dict[str, int]:
    """Probe real files and insert them through the scan store: {prompt name: id}."""
    paths = [write_lora(library / f"{name}.safetensors", seed=i) for i, name in enumerate(names)]
    SqlScanStore(db).insert_files([r.as_row() for r in probe_many([entry_for(p, str(library)) for p in paths])])
    return {name: SqlCatalogStore(db).resolve(name) for name in names}


def test_scan_store_inserts_updates_and_hands_out_pending_hashes(db, library):
    scans = SqlScanStore(db)
    ids = _index(db, library, ["alpha", "beta", "gamma"])
    index = scans.file_index()
    assert sorted(os.path.basename(p) for p in index) == ["alpha.safetensors", "beta.safetensors", "gamma.safetensors"]
    assert all(row.state == "ok" and row.sha256 is None for row in index.values())
    pending = scans.pending_hashes(2)
    assert [lid for lid, _, _ in pending] == sorted(ids.values())[:2]
    assert [lid for lid, _, _ in scans.pending_hashes(10, after=pending[-1][0])] == sorted(ids.values())[2:]
    files, size = scans.pending_hash_totals()
    assert files == 3 and size == sum(os.path.getsize(p) for p in index)

    lid, path, _ = pending[0]
    h = hash_file(path, evict=False)
    assert scans.save_hashes([HashResult(lid, h.size, h.mtime_ns, h.sha256, h.tensor_sha256, h.legacy)]) == []
    assert scans.pending_hash_totals()[0] == 2 and scans.file_index()[path].sha256 == file_sha256(path)

    # a row changed since the scan read it (another writer) is left as it is now
    row = index[path]
    fact = probe_many([entry_for(path, str(library))])[0].as_row()
    assert scans.update_files([(lid, fact)], expect={lid: (path, row.size + 1, row.mtime_ns)}) == []
    assert scans.update_files([(lid, fact)], expect={lid: (path, row.size, row.mtime_ns)}) == [lid]
    # missing keeps the row (and its user data); unknown ids are not an error
    assert scans.mark_missing([ids["gamma"], 999_999]) == [ids["gamma"]]
    assert SqlCatalogStore(db).counts()["missing"] == 1 and scans.duplicate_count() == 0


def test_user_store_edits_tags_and_collections(db, library):
    users, catalog = SqlUserStore(db), SqlCatalogStore(db)
    ids = _index(db, library, ["alpha", "beta"])
    a, b = ids["alpha"], ids["beta"]
    assert users.edit([a, 999_999], {"favorite": True, "notes": "sunny", "tags": ["style"]}) == 1
    entry = catalog.get(a)
    assert entry["favorite"] is True and entry["notes"] == "sunny" and entry["tags"] == ["style"]
    assert users.add_tags([a, b], ["warm"]) == 2 and users.add_tags([a], ["warm"]) == 1  # twice is no error
    assert users.remove_tags([a], ["style"]) == 1
    assert catalog.get(a)["tags"] == ["warm"]
    assert catalog.tag_counts() == [{"tag": "warm", "count": 2, "user": 2, "model": 0}]
    # tags reach the search text in the same transaction
    assert [e["id"] for e in catalog.list_loras(LoraQuery(query="warm")).items] == [a, b]
    assert users.collect("faves", [b, a]) == 2 and users.collect("faves", [a], add=False) == 1
    assert users.collections() == [{"id": users.collection_id("faves"), "name": "faves", "lora_ids": [b]}]
    with pytest.raises(NotFound):
        users.collection_id("nope")


def test_feedback_store_counts_per_user_and_refuses_what_it_cannot_store(db, library):
    feedback = SqlFeedbackStore(db)
    lid = _index(db, library, ["alpha"])["alpha"]
    assert feedback.record_feedback("ann", lid, "accept")["accepts"] == 1
    got = feedback.record_feedback("ann", lid, "down")
    assert (got["accepts"], got["dismisses"], got["downs"]) == (1, 0, 1)
    assert feedback.feedback_counts("ann") == {lid: (1, 0, 1)} and feedback.feedback_counts("bob") == {}
    with pytest.raises(InvalidInput):
        feedback.record_feedback("ann", lid, "love")
    with pytest.raises(InvalidInput):
        feedback.record_feedback("x" * 201, lid, "accept")
    with pytest.raises(NotFound):
        feedback.record_feedback("ann", 999_999, "accept")


def test_usage_store_writes_each_loras_status_and_the_rollups(db, library):
    usage, feedback = SqlUsageStore(db), SqlFeedbackStore(db)
    ids = _index(db, library, ["alpha", "beta"])
    event = {"prompt": "<lora:alpha:0.8> <lora:beta:0> <lora:ghost>", "started_at": T0, "finished_at": T0,
             "outcome": "done", "duration_ms": 1200, "source": "txt2img",
             "requested": [{"name": "alpha", "weight": 0.8}, {"name": "beta", "weight": 0, "te": 0, "unet": 0},
                           {"name": "ghost", "weight": 1}],
             "applied": [{"name": "alpha", "te": 0.8, "unet": 0.8}, {"name": "style", "te": 1, "unet": 1}]}
    [gid] = usage.record_generations([event])
    [item] = usage.list_usage()["items"]
    assert item["id"] == gid
    assert [(r["prompt_name"], r["lora_id"], r["status"]) for r in item["loras"]] == [
        ("alpha", ids["alpha"], "applied"), ("beta", ids["beta"], "skipped"), ("ghost", None, "not_found"),
        ("style", None, "applied")]
    assert usage.list_usage(lora_id=ids["beta"])["total"] == 1 and usage.list_usage(prompt_name="nope")["total"] == 0
    assert feedback.use_counts() == {"alpha": 1, "style": 1}
    assert feedback.pair_counts(["alpha"]) == {"alpha": {"style": 1}}
