"""After a hashing run, Civitai model sidecar versions are picked again for the LoRAs that run hashed, not
the whole library; the first pick of a process looks at every LoRA (an earlier process may have ended before
its pick), whether the hashing or a scan asks for it, and a run stopped before its pick hands its LoRAs on to
the next (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from sqlalchemy import text

from .loras import file_sha256, write_lora
from .test_civitai_sidecar_versions import _model, _sidecar


def _pixel(library, name: str, seed: int) -> None:
    """A LoRA with a Civitai model sidecar whose second version is ours: guessed (the first) until hashed."""
    path = write_lora(library / f"{name}.safetensors", seed=seed)
    library.joinpath(f"{name}.json").write_text(json.dumps(_model(file_sha256(path))))


def _spy_guesses(app, monkeypatch) -> list:
    asked: list = []
    real = app.civitai.store.version_guesses
    monkeypatch.setattr(app.civitai.store, "version_guesses", lambda ids=None: (asked.append(ids), real(ids))[1])
    return asked


def _hash(app) -> None:
    app.hasher.wake()
    assert app.hasher.wait(60)


def test_a_run_picks_again_the_versions_of_the_loras_it_hashed_only(make_app, library, monkeypatch):
    _pixel(library, "pixel_old", 3)
    app = make_app(library, embed_model="off")
    asked = _spy_guesses(app, monkeypatch)
    app.scan(wait_hashes=True)
    assert asked == [None]  # the first run of this process: every LoRA
    assert _sidecar(app.catalog.get("pixel_old"))["version_match"] == "sha256"
    old = app.catalog.get("pixel_old")["id"]
    # A guess left on a LoRA hashed before (as a process that ended before its pick leaves it).
    with app.db.engine.begin() as conn:
        conn.execute(text("UPDATE loras SET sidecars = :s WHERE id = :i"),
                     {"i": old, "s": json.dumps([{"kind": "civitai_model_json", "name": "pixel_old.json",
                                                  "version_match": "first"}], separators=(",", ":"))})
    _pixel(library, "pixel_new", 4)
    app.scan(hash_after=False)
    assert _sidecar(app.catalog.get("pixel_new"))["version_match"] == "first"  # not hashed yet: a guess
    asked.clear()
    _hash(app)
    new = app.catalog.get("pixel_new")["id"]
    assert asked == [[new]]  # the run's own LoRA, nothing else
    picked = _sidecar(app.catalog.get("pixel_new"))
    assert (picked["civitai_version_id"], picked["version_match"]) == (1, "sha256")  # the guess made by the scan
    assert _sidecar(app.catalog.get("pixel_old"))["version_match"] == "first"  # not looked at
    assert app.civitai.resolve_sidecar_versions() == [old]  # what a whole-library pick would have read


@pytest.mark.parametrize("how", ["stopped", "failed"])
def test_a_run_that_ends_without_its_pick_hands_its_loras_to_the_next(make_app, library, monkeypatch, how):
    write_lora(library / "plain.safetensors", seed=1)
    app = make_app(library, embed_model="off")
    app.scan(wait_hashes=True)  # the first run of this process (every LoRA) is behind us
    asked = _spy_guesses(app, monkeypatch)
    _pixel(library, "pixel_a", 3)
    app.scan(hash_after=False)
    store = app.hasher.scan_store
    real_save, real_pick = store.save_hashes, app.civitai.resolve_sidecar_versions
    if how == "stopped":
        def save_then_stop(*args):
            out = real_save(*args)
            app.hasher._stop.set()  # as app.close() would: the run ends without its pick
            return out

        monkeypatch.setattr(store, "save_hashes", save_then_stop)
    else:
        def busy(ids=None):
            raise RuntimeError("database is locked")

        monkeypatch.setattr(app.civitai, "resolve_sidecar_versions", busy)
    _hash(app)
    assert asked == [] and app.hasher.pending_totals() == (0, 0)
    assert _sidecar(app.catalog.get("pixel_a"))["version_match"] == "first"
    monkeypatch.setattr(store, "save_hashes", real_save)
    monkeypatch.setattr(app.civitai, "resolve_sidecar_versions", real_pick)
    _pixel(library, "pixel_b", 4)
    app.scan(hash_after=False)
    _hash(app)
    ids = sorted(app.catalog.get(n)["id"] for n in ("pixel_a", "pixel_b"))
    assert asked == [ids]
    assert {_sidecar(app.catalog.get(n))["version_match"] for n in ("pixel_a", "pixel_b")} == {"sha256"}


def _spy_after(app, monkeypatch) -> list:
    calls: list = []
    real = app.hasher.after_hashing
    monkeypatch.setattr(app.hasher, "after_hashing", lambda ids: (calls.append(ids), real(ids)))
    return calls


def test_a_move_told_by_the_hash_hands_on_the_entries_kept(make_app, library, monkeypatch):
    """Two new files whose hashes missing entries have are those entries: the ids handed on are the entries
    kept (the new rows are merged away)."""
    a = write_lora(library / "twin1.safetensors", seed=1)
    shutil.copy2(a, library / "twin2.safetensors")
    app = make_app(library, embed_model="off")
    app.scan(wait_hashes=True)
    kept = sorted(e["id"] for e in app.catalog.list(limit=10).items)
    calls = _spy_after(app, monkeypatch)
    (library / "moved").mkdir()
    os.rename(library / "twin1.safetensors", library / "moved" / "renamed1.safetensors")
    os.rename(library / "twin2.safetensors", library / "moved" / "renamed2.safetensors")
    report = app.scan(wait_hashes=True)
    assert (report.new, report.missing) == (2, 2)
    assert sorted(e["id"] for e in app.catalog.list(limit=10).items) == kept
    assert calls == [kept]


def test_a_false_move_hands_on_the_new_entry(make_app, library, monkeypatch):
    from safetensors.numpy import save_file

    from .loras import tensors

    save_file(tensors(seed=1), str(library / "a.safetensors"))
    app = make_app(library, embed_model="off")
    app.scan(wait_hashes=True)
    calls = _spy_after(app, monkeypatch)
    os.remove(library / "a.safetensors")
    save_file(tensors(seed=2), str(library / "b.safetensors"))
    os.utime(library / "b.safetensors", ns=(1, 10**18))
    assert app.scan(wait_hashes=True).moved == 1  # same size and header: taken as a move until hashed
    a, b = app.catalog.get("a"), app.catalog.get("b")
    assert a["state"] == "missing" and b["id"] != a["id"]
    assert calls == [[b["id"]]]  # the file's own entry, not the one it was taken for


def test_a_rescan_picks_again_the_versions_of_the_loras_it_rewrote_only(make_app, library, monkeypatch):
    """A scan that read sidecars of hashed LoRAs anew picks their versions again with the hashes: the first pick
    of a process looks at every LoRA (here the first scan of a new process over a hashed library), later ones
    at the LoRAs their scan rewrote; an unchanged rescan asks nothing."""
    _pixel(library, "pixel_a", 3)
    _pixel(library, "pixel_b", 4)
    write_lora(library / "plain.safetensors", seed=1)
    first = make_app(library, embed_model="off")
    first.scan(wait_hashes=True)
    ids = {n: first.catalog.get(n)["id"] for n in ("pixel_a", "pixel_b", "plain")}
    first.close()
    app = make_app(library, embed_model="off")  # a new process over the same library
    asked = _spy_guesses(app, monkeypatch)
    app.scan(hash_after=False)
    assert asked == []  # nothing rewritten
    for name in ("pixel_a", "pixel_b"):  # their sidecars rewritten: read anew, by name again
        sidecar = library / f"{name}.json"
        sidecar.write_text(sidecar.read_text() + " ")
    os.utime(library / "plain.safetensors", ns=(1, 10**18))  # its file read anew too, but hashed again
    report = app.scan(hash_after=False)
    assert report.changed == 3
    assert asked == [None]  # the first pick of this process: every LoRA
    assert {_sidecar(app.catalog.get(n))["version_match"] for n in ("pixel_a", "pixel_b")} == {"sha256"}
    asked.clear()
    sidecar = library / "pixel_b.json"
    sidecar.write_text(sidecar.read_text() + " ")
    assert app.scan(hash_after=False).changed == 1
    assert asked == [[ids["pixel_b"]]]  # that LoRA alone
    assert _sidecar(app.catalog.get("pixel_b"))["version_match"] == "sha256"
    assert _sidecar(app.catalog.get("pixel_a"))["version_match"] == "sha256"


def test_one_look_at_every_lora_a_process_serves_both_the_hashing_and_the_scans(make_app, library, monkeypatch):
    """The hashing run's pick was the first of this process and looked at every LoRA: the first rescan that
    rewrites rows afterwards picks for those rows alone (it used to look at every LoRA again)."""
    _pixel(library, "pixel_a", 3)
    _pixel(library, "pixel_b", 4)
    write_lora(library / "plain.safetensors", seed=1)
    app = make_app(library, embed_model="off")
    asked = _spy_guesses(app, monkeypatch)
    app.scan(wait_hashes=True)
    assert asked == [None]  # the hashing run's pick: every LoRA
    asked.clear()
    for name in ("pixel_a", "pixel_b"):
        sidecar = library / f"{name}.json"
        sidecar.write_text(sidecar.read_text() + " ")
    assert app.scan(hash_after=False).changed == 2
    assert [sorted(x) for x in asked] == [sorted(app.catalog.get(n)["id"] for n in ("pixel_a", "pixel_b"))]
    assert {_sidecar(app.catalog.get(n))["version_match"] for n in ("pixel_a", "pixel_b")} == {"sha256"}


def test_a_rescan_whose_pick_failed_hands_every_lora_to_the_next(make_app, library, monkeypatch):
    """The LoRAs of a scan whose pick failed are not lost: the next scan that rewrites rows looks at every LoRA."""
    _pixel(library, "pixel_a", 3)
    _pixel(library, "pixel_b", 4)
    app = make_app(library, embed_model="off")
    app.scan(wait_hashes=True)
    for name in ("pixel_a", "pixel_b"):  # the first rewrite of this process: every LoRA, then scoped
        sidecar = library / f"{name}.json"
        sidecar.write_text(sidecar.read_text() + " ")
    app.scan(hash_after=False)
    asked = _spy_guesses(app, monkeypatch)
    spy = app.civitai.store.version_guesses

    def busy(ids=None):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(app.civitai.store, "version_guesses", busy)  # the pick fails inside
    sidecar = library / "pixel_a.json"
    sidecar.write_text(sidecar.read_text() + " ")
    assert app.scan(hash_after=False).changed == 1  # its pick failed: pixel_a keeps the scan's guess
    assert _sidecar(app.catalog.get("pixel_a"))["version_match"] == "first"
    monkeypatch.setattr(app.civitai.store, "version_guesses", spy)
    sidecar = library / "pixel_b.json"
    sidecar.write_text(sidecar.read_text() + "  ")
    assert app.scan(hash_after=False).changed == 1
    assert asked == [None]  # every LoRA, pixel_a among them
    assert {_sidecar(app.catalog.get(n))["version_match"] for n in ("pixel_a", "pixel_b")} == {"sha256"}
