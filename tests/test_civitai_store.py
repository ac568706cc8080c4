"""The Civitai store on SQLite and PostgreSQL: what a bulk fetch asks about, records and their dates."""

from __future__ import annotations

import shutil
from datetime import timedelta

from lora_manager.storage.civitai_store import SqlCivitaiStore, Stored, utcnow

from .loras import file_sha256, write_lora


def _library(make_app, library):
    paths = [write_lora(library / f"l{i}.safetensors", seed=i) for i in range(4)]
    (library / "sub").mkdir()
    shutil.copyfile(paths[0], library / "sub" / "copy.safetensors")  # the same file as l0
    app = make_app(library, embed_model="off")
    app.scan(wait_hashes=True)
    return app, paths


def test_lacking_found_not_found_and_the_recheck_window(make_app, library):
    app, paths = _library(make_app, library)
    store = SqlCivitaiStore(app.db)
    cutoff = utcnow() - timedelta(days=14)
    lacking = store.lacking(cutoff)
    assert len(lacking) == 5 and all(t.sha256 for t in lacking) and store.lacking_count(cutoff) == 5
    sha0, sha1 = file_sha256(paths[0]), file_sha256(paths[1])
    version = Stored({"id": 11, "modelId": 7, "name": "v1"}, 'W/"e1"', utcnow())
    store.save_found(sha0, "sha256", version, Stored({"id": 7, "name": "A LoRA"}, None, utcnow()))
    store.save_not_found(sha1)
    left = store.lacking(cutoff)
    assert {t.sha256 for t in left} == {file_sha256(p) for p in paths[2:]}
    assert store.counts(cutoff) == {"found": 2, "not_found": 1, "lacking": 2}  # the copy shares l0's record
    # A refresh asks again about found hashes, never about a recent "not found" ...
    assert sha0 in {t.sha256 for t in store.lacking(cutoff, refresh=True)}
    assert sha1 not in {t.sha256 for t in store.lacking(cutoff, refresh=True)}
    # ... which is asked about again once the window has passed.
    assert sha1 in {t.sha256 for t in store.lacking(utcnow() + timedelta(seconds=1))}
    # Keyset paging by id.
    first = store.lacking(cutoff, limit=1)
    assert [t.id for t in first + store.lacking(cutoff, after=first[0].id)] == [t.id for t in left]
    assert sorted(t.path for t in store.same_hash(sha0)) == sorted([paths[0],
                                                                    str(library / "sub" / "copy.safetensors")])


def test_records_are_upserted_and_read_per_lora(make_app, library):
    app, paths = _library(make_app, library)
    store = SqlCivitaiStore(app.db)
    sha0 = file_sha256(paths[0])
    lid = app.catalog.get("l0")["id"]
    assert store.record(lid) is None and store.lookup(sha0) is None
    store.save_found(sha0, "autov2", Stored({"id": 11, "modelId": 7, "name": "v1"}, None, utcnow()), None)
    rec = store.record(lid)
    assert rec["lookup"]["status"] == "found" and rec["lookup"]["matched_by"] == "autov2"
    assert rec["version"]["name"] == "v1" and rec["model"] is None and rec["lookup"]["checked_at"].tzinfo
    store.save_found(sha0, "sha256", Stored({"id": 11, "modelId": 7, "name": "v2"}, 'W/"x"', utcnow()),
                     Stored({"id": 7, "name": "A LoRA", "creator": {"username": "u"}}, 'W/"m"', utcnow()))
    rec = store.record(lid)
    assert rec["version"]["name"] == "v2" and rec["model"]["creator"]["username"] == "u"
    assert store.version(11).etag == 'W/"x"' and store.model(7).etag == 'W/"m"' and store.model(8) is None
    store.save_not_found(sha0)  # Civitai took it down: the hash's lookup says so
    assert store.record(lid)["lookup"]["status"] == "not_found" and store.record(lid)["version"] is None
    [target] = store.targets([lid, 999_999])
    assert target.sha256 == sha0 and target.state == "ok" and target.path == paths[0]
