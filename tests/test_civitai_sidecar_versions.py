"""A Civitai model sidecar with several versions: ours is the one with our file (hash, AutoV2, name),
picked again once the file is hashed and after a rescan reads the sidecar anew."""

from __future__ import annotations

import json
import os

from lora_manager.library.sidecars import parse_civitai_model

from .civitai_standin import make_file, make_model, make_version
from .loras import file_sha256, write_lora

OTHER = "cd" * 32


def _model(ours_sha: str, *, ours_name: str = "renamed_on_civitai.safetensors", with_sha: bool = True) -> dict:
    newer = make_version(2, 9, [make_file("pixel_v2.safetensors", OTHER)], name="v2.0", base="Pony", words=["v2 word"])
    ours = make_version(1, 9, [make_file(ours_name, ours_sha, with_sha=with_sha)], name="v1.0", base="SD 1.5",
                        words=["v1 word"])
    return make_model(9, [newer, ours], name="Pixel")


def test_the_version_with_our_file_is_picked_by_hash_autov2_or_name():
    sha = "ab" * 32
    f = parse_civitai_model(_model(sha), "x.json", sha256=sha)
    assert (f.version_name, f.version_match, f.sha256, f.triggers) == ("v1.0", "sha256", sha, ["v1 word"])
    f = parse_civitai_model(_model(sha, with_sha=False), "x.json", sha256=sha)
    assert (f.version_name, f.version_match) == ("v1.0", "autov2")
    f = parse_civitai_model(_model(sha, ours_name="Pixel_V1.safetensors"), "x.json", file_base="pixel_v1")
    assert (f.version_name, f.version_match, f.sha256) == ("v1.0", "name", None)  # a name is a guess: no hash stated
    f = parse_civitai_model(_model(sha), "x.json", file_base="pixel_v1")
    assert (f.version_name, f.version_match, f.sha256, f.hash_checked) == ("v2.0", "first", None, False)
    # an AutoV2 that collides with a file stating another SHA-256 is not ours
    collide = _model(sha)
    collide["modelVersions"][1]["files"][0]["hashes"]["SHA256"] = ("ab" * 5) + ("ef" * 27)
    assert parse_civitai_model(collide, "x.json", sha256=sha).version_match == "first"


def _sidecar(entry) -> dict:
    [s] = [s for s in entry["sidecars"] if s["kind"] == "civitai_model_json"]
    return s


def test_the_version_is_picked_again_after_hashing_and_after_a_rescan(make_app, library):
    path = write_lora(library / "pixel_v1.safetensors", seed=3)
    sidecar = library / "pixel_v1.json"
    sidecar.write_text(json.dumps(_model(file_sha256(path))))
    app = make_app(library, embed_model="off")
    app.scan(hash_after=False)
    before = _sidecar(app.catalog.get("pixel_v1"))
    assert (before["civitai_version_id"], before["version_match"]) == (2, "first")  # not hashed yet: a guess
    assert "v2 word" in app.catalog.get("pixel_v1")["extracted_triggers"]
    app.hasher.wake()
    assert app.hasher.wait(60)
    after = _sidecar(app.catalog.get("pixel_v1"))
    assert (after["civitai_version_id"], after["version_match"], after["sha256"]) == (1, "sha256", file_sha256(path))
    entry = app.catalog.get("pixel_v1")
    assert entry["extracted_triggers"] == ["v1 word"] and entry["base_label"] == "SD 1.5"
    # The sidecar is rewritten (its version list grows): the scan reads it without a hash, then picks again.
    data = json.loads(sidecar.read_text())
    data["modelVersions"].insert(0, make_version(3, 9, [make_file("pixel_v3.safetensors", "ef" * 32)], name="v3.0"))
    sidecar.write_text(json.dumps(data))
    os.utime(sidecar, ns=(1, 10**18))
    report = app.scan(hash_after=False)
    assert report.changed == 1
    again = _sidecar(app.catalog.get("pixel_v1"))
    assert (again["civitai_version_id"], again["version_match"]) == (1, "sha256")
    assert app.civitai.resolve_sidecar_versions() == []  # nothing left to pick again


def test_a_hash_no_version_states_settles_the_guess_without_reading_the_file(make_app, library, monkeypatch):
    """The guess stands (no version names the hash): marked checked in the index, no file read again;
    a hash a version does state is still picked by reading the file again."""
    guessed = write_lora(library / "pixel_other.safetensors", seed=4)  # none of the versions is this file
    library.joinpath("pixel_other.json").write_text(json.dumps(_model("ef" * 32)))
    ours = write_lora(library / "pixel_v1.safetensors", seed=3)
    library.joinpath("pixel_v1.json").write_text(json.dumps(_model(file_sha256(ours))))
    app = make_app(library, embed_model="off")
    app.scan(hash_after=False)
    first = _sidecar(app.catalog.get("pixel_other"))
    assert (first["version_match"], first.get("hash_checked")) == ("first", None)
    assert "hash_keys" not in first  # the index's own note is not shown
    read_again: list[list[int]] = []
    real = app.civitai._reread
    monkeypatch.setattr(app.civitai, "_reread", lambda ids, hints: (read_again.append(ids), real(ids, hints)))
    app.hasher.wake()
    assert app.hasher.wait(60)
    settled = _sidecar(app.catalog.get("pixel_other"))
    assert (settled["civitai_version_id"], settled["version_match"], settled["hash_checked"]) == (2, "first", True)
    assert "sha256" not in settled  # still a guess: it states no hash
    picked = _sidecar(app.catalog.get("pixel_v1"))
    assert (picked["civitai_version_id"], picked["version_match"]) == (1, "sha256")
    ours_id = app.catalog.get("pixel_v1")["id"]
    assert read_again == [[ours_id]]  # only the LoRA whose hash a version states was read again
    assert app.civitai.resolve_sidecar_versions() == []
    assert file_sha256(guessed) != "ef" * 32


def test_a_row_indexed_before_hash_keys_is_read_again(make_app, library):
    """Rows stored before the keys existed carry none: the hash may change the pick, so the file is read."""
    from sqlalchemy import text

    from lora_manager.storage.version_guesses import settle_guesses

    path = write_lora(library / "pixel_v1.safetensors", seed=3)
    library.joinpath("pixel_v1.json").write_text(json.dumps(_model(file_sha256(path))))
    app = make_app(library, embed_model="off")
    app.scan(hash_after=False)
    lid = app.catalog.get("pixel_v1")["id"]
    with app.db.engine.begin() as conn:
        conn.execute(text("UPDATE lora_hashes SET sha256 = :h WHERE lora_id = :i"), {"h": "ab" * 32, "i": lid})
        conn.execute(text("UPDATE loras SET sidecars = :s WHERE id = :i"),
                     {"i": lid, "s": json.dumps([{"kind": "civitai_model_json", "name": "pixel_v1.json",
                                                  "version_match": "first"}])})
    assert settle_guesses(app.db, {lid: "ab" * 32}) == []  # no keys: not settled
    assert settle_guesses(app.db, {lid: "cd" * 32}) == []  # another hash than the row's: never written


def _ours_first(sha: str, ours_name: str) -> dict:
    """A model whose first version (the guess) has our file, by hash and by `ours_name`."""
    ours = make_version(2, 9, [make_file(ours_name, sha)], name="v2.0", base="Pony", words=["v2 word"])
    older = make_version(1, 9, [make_file("pixel_v1.safetensors", OTHER)], name="v1.0", words=["v1 word"])
    return make_model(9, [ours, older], name="Pixel")


def test_a_hash_that_confirms_the_guess_settles_it_as_read_again_would(make_app, library, monkeypatch):
    """The guessed version (first, or by name) has our file: the hash confirms it without reading the file,
    and the row is what reading the sidecar again with the hash gives."""
    first = write_lora(library / "pixel_first.safetensors", seed=5)
    library.joinpath("pixel_first.json").write_text(json.dumps(_ours_first(file_sha256(first), "other.safetensors")))
    named = write_lora(library / "pixel_named.safetensors", seed=6)
    library.joinpath("pixel_named.json").write_text(json.dumps(_model(file_sha256(named), ours_name="pixel_named.st")))
    app = make_app(library, embed_model="off")
    app.scan(hash_after=False)
    assert _sidecar(app.catalog.get("pixel_first"))["version_match"] == "first"
    assert _sidecar(app.catalog.get("pixel_named"))["version_match"] == "name"
    assert "own_sha256" not in _sidecar(app.catalog.get("pixel_named"))  # the index's own note is not shown
    read_again: list[list[int]] = []
    real = app.civitai._reread
    monkeypatch.setattr(app.civitai, "_reread", lambda ids, hints: (read_again.append(ids), real(ids, hints)))
    app.hasher.wake()
    assert app.hasher.wait(60)
    assert read_again == []  # both settled in the index
    settled = {n: _sidecar(app.catalog.get(n)) for n in ("pixel_first", "pixel_named")}
    assert (settled["pixel_first"]["civitai_version_id"], settled["pixel_first"]["version_match"]) == (2, "sha256")
    assert (settled["pixel_named"]["civitai_version_id"], settled["pixel_named"]["version_match"]) == (1, "sha256")
    assert settled["pixel_named"]["sha256"] == file_sha256(named)
    ids = {n: app.catalog.get(n)["id"] for n in settled}
    real(sorted(ids.values()), {ids[n]: file_sha256(library / f"{n}.safetensors") for n in ids})  # read again
    assert {n: _sidecar(app.catalog.get(n)) for n in settled} == settled
    assert app.civitai.resolve_sidecar_versions() == []


def test_versions_are_picked_again_once_every_hash_is_stored(make_app, library, monkeypatch):
    """The re-pick follows the hashing, never slows it: called once per run, after the last hash is stored,
    and the LoRAs it reads again are read in one go."""
    names = [f"pixel_{i}" for i in range(3)]
    for i, name in enumerate(names):
        path = write_lora(library / f"{name}.safetensors", seed=10 + i)
        library.joinpath(f"{name}.json").write_text(json.dumps(_model(file_sha256(path))))  # ours: the second
    app = make_app(library, embed_model="off")
    app.scan(hash_after=False)
    calls: list[tuple[int, int]] = []
    real_after = app.hasher.after_hashing
    monkeypatch.setattr(app.hasher, "after_hashing",
                        lambda ids: (calls.append(app.hasher.pending_totals()), real_after(ids)))
    read_again: list[list[int]] = []
    real = app.civitai._reread
    monkeypatch.setattr(app.civitai, "_reread", lambda ids, hints: (read_again.append(ids), real(ids, hints)))
    monkeypatch.setattr("lora_manager.sync.hasher.SAVE_EVERY_S", 0)  # hashes stored in several saves
    app.hasher.wake()
    assert app.hasher.wait(60)
    assert calls == [(0, 0)]  # once, with nothing left to hash
    assert read_again == [sorted(app.catalog.get(n)["id"] for n in names)]
    assert {_sidecar(app.catalog.get(n))["version_match"] for n in names} == {"sha256"}
    app.hasher.wake()  # nothing hashed: nothing follows
    assert app.hasher.wait(60) and calls == [(0, 0)]
