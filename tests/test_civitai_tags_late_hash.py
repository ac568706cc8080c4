"""A Civitai record stored before the LoRA's hash (a download or a fetch, sidecar writing off; the hasher comes
later): once the hash is stored, the model's tags are the LoRA's own (tag filter, tag counts); a new hash without
a record takes them away (SQLite and PostgreSQL)."""

from __future__ import annotations

import os

from lora_manager.storage.civitai_store import SqlCivitaiStore, Stored, utcnow

from .loras import file_sha256, write_lora


def _found(app, sha: str, tags: list[str]) -> None:
    SqlCivitaiStore(app.db).save_found(sha, "sha256", Stored({"id": 11, "modelId": 7, "name": "v1"}, None, utcnow()),
                                       Stored({"id": 7, "name": "Alice", "tags": tags}, None, utcnow()))


def _names(app, tag: str) -> list[str]:
    return sorted(e["name"] for e in app.catalog.list(tags=[tag]).items)


def _model_count(app, tag: str) -> int:
    return next((t["model"] for t in app.catalog.tags() if t["tag"] == tag), 0)


def _hash(app) -> None:
    app.hasher.wake()
    assert app.hasher.wait(60)


def test_a_record_stored_before_the_hash_gives_its_tags_once_hashed(make_app, library, monkeypatch):
    alice = write_lora(library / "alice.safetensors", seed=1)
    write_lora(library / "bob.safetensors", seed=2)
    app = make_app(library, embed_model="off")
    app.scan(hash_after=False)
    _found(app, file_sha256(alice), ["Character", "Anime"])
    assert _names(app, "character") == [] and _model_count(app, "character") == 0  # no LoRA has that hash yet
    refreshed: list[list[int]] = []
    real = app.db.refresh_search
    monkeypatch.setattr(app.db, "refresh_search", lambda conn, ids: (refreshed.append(sorted(ids)), real(conn, ids)))
    _hash(app)
    entry = app.catalog.get("alice")
    assert entry["sha256"] == file_sha256(alice)
    assert _names(app, "character") == ["alice"] and _names(app, "anime") == ["alice"]
    assert _model_count(app, "character") == 1 and entry["tags"] == []  # the model's tags, not the user's
    assert [ids for ids in refreshed if ids] == [[entry["id"]]]  # bob, hashed beside it, has no record: untouched


def test_a_new_hash_without_a_record_takes_the_old_records_tags_away(make_app, library):
    alice = write_lora(library / "alice.safetensors", seed=1)
    app = make_app(library, embed_model="off")
    app.scan(wait_hashes=True)
    _found(app, file_sha256(alice), ["Character"])
    assert _names(app, "character") == ["alice"]
    write_lora(alice, seed=5)  # other contents: a new hash Civitai has no record for
    assert app.scan(hash_after=False).changed == 1
    _hash(app)
    assert app.catalog.get("alice")["sha256"] == file_sha256(alice)
    assert _names(app, "character") == [] and _model_count(app, "character") == 0


def test_a_move_the_hash_undoes_gives_the_files_own_entry_its_records_tags(make_app, library):
    from safetensors.numpy import save_file

    from .loras import tensors

    save_file(tensors(seed=1), str(library / "a.safetensors"))
    app = make_app(library, embed_model="off")
    app.scan(wait_hashes=True)
    os.remove(library / "a.safetensors")
    save_file(tensors(seed=2), str(library / "b.safetensors"))
    os.utime(library / "b.safetensors", ns=(1, 10**18))
    _found(app, file_sha256(library / "b.safetensors"), ["Character"])
    assert app.scan(wait_hashes=True).moved == 1  # same size and header: taken as a move until hashed
    assert app.catalog.get("a")["state"] == "missing"
    assert _names(app, "character") == ["b"]  # the new entry, not the one it was taken for


def test_a_record_stored_while_a_copys_hash_is_written_gives_both_its_tags(make_app, library, monkeypatch):
    """A Civitai record stored for a hash while the hasher writes that hash to a copy of the file: whichever
    commits second sees the other's write, so both LoRAs get the record's tags (on PostgreSQL two writers
    run at once; on SQLite they take turns)."""
    import shutil
    import threading

    from lora_manager.storage import scan_store

    alice = write_lora(library / "alice.safetensors", seed=1)
    app = make_app(library, embed_model="off")
    app.scan(wait_hashes=True)
    shutil.copy2(alice, library / "alice_copy.safetensors")
    app.scan(hash_after=False)
    inside, go_on = threading.Event(), threading.Event()
    real = scan_store.civitai_changed

    def paused(*args):  # the copy's hash written, its records looked at, not committed yet
        out = real(*args)
        inside.set()
        assert go_on.wait(30)
        return out

    monkeypatch.setattr(scan_store, "civitai_changed", paused)
    app.hasher.wake()
    assert inside.wait(30)
    errors: list[BaseException] = []
    record = threading.Thread(target=lambda: _catch(errors, _found, app, file_sha256(alice), ["Character"]))
    record.start()
    record.join(1.0)  # a record write that does not wait for the hash write would be done by now
    go_on.set()
    assert app.hasher.wait(60)
    record.join(30)
    assert not record.is_alive() and errors == []
    assert _names(app, "character") == ["alice", "alice_copy"] and _model_count(app, "character") == 2


def _catch(errors: list, fn, *args) -> None:
    try:
        fn(*args)
    except BaseException as exc:  # noqa: BLE001 - shown by the test's assertion
        errors.append(exc)
