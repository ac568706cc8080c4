"""Other tools' files, written here in each dialect: read into our user data (dry run first), and our user
data written back into SDNext/A1111's `<base>.json` without losing a key we do not own."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from .transfer_helpers import open_app, write_library

A1111 = {"description": "an A1111 description", "sd version": "SD1", "activation text": "alice, blue hat",
         "preferred weight": 0.8, "negative text": "lowres", "notes": "written in A1111"}
LM = {"file_name": "bob", "model_name": "Bob style", "favorite": True, "tags": ["style", "Anime"], "notes": "lm notes",
      "usage_tips": orjson.dumps({"strength": 0.6, "strength_min": 0.4, "strength_max": 0.9}).decode(),
      "preview_url": "/somewhere/bob.webp", "civitai": {"id": 11, "modelId": 12, "trainedWords": ["bobstyle", "ink"]}}
CIVITAI_INFO = {"id": 21, "modelId": 22, "name": "v1.0", "baseModel": "SD 1.5",
                "trainedWords": ["carolword", "carol two"],
                "files": [{"name": "carol.safetensors", "primary": True, "hashes": {}}], "images": []}


@pytest.fixture
def lib(tmp_path, db_url):
    root = tmp_path / "lib"
    write_library(root)
    core = open_app(root, tmp_path / "data", db_url)
    yield core, root
    core.close()


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_each_dialect_dry_run_then_import(lib):
    core, root = lib
    # written after the scan: the trigger words are not yet among the extracted ones
    (root / "alice.json").write_bytes(orjson.dumps(A1111))
    (root / "sub" / "bob.metadata.json").write_bytes(orjson.dumps(LM))
    (root / "carol.civitai.info").write_bytes(orjson.dumps(CIVITAI_INFO))
    (root / "carol.json").write_bytes(b'{"activation text": "oops",')  # does not parse: reported, skipped
    before = {k: core.catalog.get(k) for k in ("alice", "bob", "carol")}
    dry = core.transfer.import_peers("sdnext", dry_run=True)
    assert dry["counts"]["added"] == 1 and dry["files"] == {"read": 1, "unreadable": 1, "other_dialect": 0}
    assert "carol.json" in dry["problems"][0]["path"]
    assert {k: core.catalog.get(k) for k in ("alice", "bob", "carol")} == before
    done = core.transfer.import_peers("sdnext")
    alice = core.catalog.get("alice")
    assert (alice["triggers"], alice["preferred_weight"], alice["notes"], alice["negative_text"]) == (
        ["alice", "blue hat"], 0.8, "written in A1111", "lowres")
    assert done["backup"]
    core.transfer.import_peers("lm")
    bob = core.catalog.get("bob")
    assert (bob["favorite"], bob["tags"], bob["notes"]) == (True, ["anime", "style"], "lm notes")
    assert (bob["preferred_weight"], bob["weight_min"], bob["weight_max"], bob["triggers"]) == (
        0.6,
        0.4,
        0.9,
        ["bobstyle", "ink"],
    )
    dry = core.transfer.import_peers("civitai-helper", dry_run=True)
    assert [x["status"] for x in dry["loras"]] == ["added"] and core.catalog.get("carol")["triggers"] != [
        "carolword",
        "carol two",
    ]
    core.transfer.import_peers("civitai-helper")
    assert core.catalog.get("carol")["triggers"] == ["carolword", "carol two"]
    again = core.transfer.import_peers("lm")
    assert again["counts"]["unchanged"] == 1 and again["written"] is None


def test_words_a_scan_already_read_are_not_made_the_users(lib):
    core, root = lib
    (root / "carol.civitai.info").write_bytes(orjson.dumps(CIVITAI_INFO))
    core.scan(wait_hashes=True)  # the scan merges the sidecar's words into the extracted ones
    report = core.transfer.import_peers("civitai-helper", dry_run=True)
    assert report["counts"]["unchanged"] == 1 and not report["loras"][0].get("changes")


def test_write_back_keeps_foreign_keys_and_never_touches_a_broken_file(tmp_path, db_url):
    root = tmp_path / "lib"
    write_library(root)
    foreign = {"sd version": "SDXL", "description": "theirs", "custom": {"x": [1, 2]}, "activation text": "old words"}
    (root / "alice.json").write_bytes(orjson.dumps(foreign))
    (root / "sub" / "bob.json").write_bytes(b"{oops")
    core = open_app(root, tmp_path / "data", db_url, write_sidecars=True)
    try:
        broken = _sha(root / "sub" / "bob.json")
        core.catalog.edit("alice", {"triggers": ["alice", "red dress"], "preferred_weight": 0.7, "notes": "n1"})
        core.catalog.edit("bob", {"notes": "never written"})
        core.catalog.edit("carol", {"negative_text": "blurry", "preferred_weight": 0.5})
        core.transfer.writer.wait()
        alice = orjson.loads((root / "alice.json").read_bytes())
        assert {k: alice[k] for k in foreign if k != "activation text"} == {
            k: v for k, v in foreign.items() if k != "activation text"
        }
        assert (alice["activation text"], alice["preferred weight"], alice["notes"]) == ("alice, red dress", 0.7, "n1")
        assert _sha(root / "sub" / "bob.json") == broken
        carol = orjson.loads((root / "carol.json").read_bytes())
        assert carol == {"preferred weight": 0.5, "negative text": "blurry"}
        report = core.transfer.write_all_sidecars(dry_run=True)
        assert (report["written"], report["skipped"]) == (0, 1) and "parse" in report["problems"][0]["reason"]
        # read all back: what was written is what we hold (only the broken file is a problem)
        back = core.transfer.import_peers("sdnext", dry_run=True)
        assert back["counts"]["added"] + back["counts"]["updated"] + back["counts"]["conflicting"] == 0
        assert len(back["problems"]) == 1
    finally:
        core.close()


def test_write_back_is_off_by_default_and_write_all_is_explicit(lib):
    core, root = lib
    core.catalog.edit("alice", {"notes": "only in the database"})
    core.transfer.writer.wait()
    assert not (root / "alice.json").exists()
    dry = core.transfer.write_all_sidecars(dry_run=True)
    assert dry["written"] == 1 and not (root / "alice.json").exists()
    core.transfer.write_all_sidecars()
    written = orjson.loads((root / "alice.json").read_bytes())
    assert written["notes"] == "only in the database" and written["activation text"] == "alice"
    assert core.transfer.write_all_sidecars()["unchanged"] == 1
