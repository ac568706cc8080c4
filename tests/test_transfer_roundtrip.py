"""Export -> a fresh data directory -> import: the same user data, collections, feedback and usage figures,
on SQLite and on PostgreSQL; dry runs change nothing, a second import adds nothing, conflicts follow
the policy, previews travel, and the published schema is the one the code validates with."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import jsonschema
import orjson
import pytest

from lora_manager.transfer.schema import json_schema

from .transfer_helpers import fill, open_app, other_db_url, user_state, write_library  # noqa: F401

SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "export-schema.json"


@pytest.fixture
def pair(tmp_path, db_url, other_db_url):  # noqa: F811
    root = tmp_path / "lib"
    write_library(root)
    source = open_app(root, tmp_path / "data-a", db_url)
    fill(source)
    target = open_app(root, tmp_path / "data-b", other_db_url)
    yield source, target, tmp_path
    source.close()
    target.close()


def test_round_trip_keeps_everything(pair):
    source, target, tmp = pair
    before = user_state(source)
    archive = tmp / "out.zip"
    report = source.transfer.export(str(archive), ["userdata", "collections", "recipes", "usage", "settings"])
    assert report["counts"]["usage"] == 30 and report["counts"]["userdata"] == 2 and report["counts"]["recipes"] == 0
    empty = user_state(target)
    dry = target.transfer.import_archive(str(archive), dry_run=True)
    assert dry["dry_run"] and dry["counts"]["added"] == 2 and dry["usage"]["added"] == 30
    assert {c["name"]: c["status"] for c in dry["collections"]} == {"best": "added", "later": "added"}
    assert user_state(target) == empty and not list((tmp / "data-b" / "backups").glob("*-pre-import*"))
    done = target.transfer.import_archive(str(archive))
    assert done["backup"] and done["written"]["generations"] == 30
    assert user_state(target) == before
    assert [e["name"] for e in target.catalog.list(query="portrait").items] == ["alice"]  # search knows the tags
    again = target.transfer.import_archive(str(archive))  # nothing twice: usage is recognised, data unchanged
    assert again["usage"] == {"events": 30, "added": 0, "present": 30, "loras_unmatched": 0}
    assert again["written"] is None and again["counts"]["unchanged"] == 2
    assert user_state(target) == before


def test_conflicts_follow_the_policy(pair):
    source, target, tmp = pair
    archive = str(tmp / "out.zip")
    source.transfer.export(archive, ["userdata"])
    target.catalog.edit("alice", {"notes": "theirs? no, mine", "tags": ["local"], "preferred_weight": 0.3})
    keep = target.transfer.import_archive(archive, dry_run=True)
    item = next(x for x in keep["loras"] if x.get("local", "").startswith("<lora:alice>"))
    assert item["status"] == "conflicting" and set(item["conflicts"]) == {"notes", "tags", "preferred_weight"}
    assert item["changes"]["favorite"] == {"from": False, "to": True}  # a field only they have is taken
    target.transfer.import_archive(archive, on_conflict="merge")
    alice = target.catalog.get("alice")
    assert alice["notes"] == "theirs? no, mine\n\nmy best" and alice["tags"] == ["keep", "local", "portrait"]
    assert alice["preferred_weight"] == 0.3 and alice["favorite"] is True
    target.transfer.import_archive(archive, on_conflict="theirs")
    alice = target.catalog.get("alice")
    assert (alice["notes"], alice["preferred_weight"]) == ("my best", 0.7) and alice["tags"] == ["keep", "portrait"]


def test_matching_by_path_and_name_when_hashes_differ(tmp_path, db_url):
    from .loras import write_lora

    a, b = tmp_path / "a", tmp_path / "b"
    write_lora(a / "x" / "same.safetensors", seed=1)
    write_lora(a / "renamed_there.safetensors", seed=2)
    write_lora(b / "x" / "same.safetensors", seed=5)  # another file at the same place below the root
    write_lora(b / "moved" / "renamed_there.safetensors", seed=6)  # elsewhere, other bytes: only the name says it
    src = open_app(a, tmp_path / "da", db_url)
    src.catalog.edit("same", {"notes": "by path"})
    src.catalog.edit("renamed_there", {"notes": "by name"})
    src.transfer.export(str(tmp_path / "o.zip"), ["userdata"])
    src.close()
    dst = open_app(b, tmp_path / "db", f"sqlite:///{tmp_path}/b.db")
    report = dst.transfer.import_archive(str(tmp_path / "o.zip"))
    assert sorted(x["match"] for x in report["loras"]) == ["file_name", "relative_path"]
    assert dst.catalog.get("same")["notes"] == "by path" and dst.catalog.get("renamed_there")["notes"] == "by name"
    dst.close()


def test_previews_travel_and_never_replace(pair):
    source, target, tmp = pair
    archive = str(tmp / "p.zip")
    report = source.transfer.export(archive, ["userdata"], include_previews=True)
    assert report["counts"]["previews"] == 1
    assert "previews/0/.preview.png" in zipfile.ZipFile(archive).namelist() or any(
        n.endswith("/.preview.png") for n in zipfile.ZipFile(archive).namelist())
    preview = tmp / "lib" / "alice.preview.png"
    original = preview.read_bytes()
    present = target.transfer.import_archive(archive, dry_run=True)
    assert present["previews"] == {"in_archive": 1, "added": 0, "present": 1, "unmatched": 0}
    preview.unlink()
    done = target.transfer.import_archive(archive)
    assert done["written"]["previews"] == 1 and preview.read_bytes() == original


def test_published_schema_is_the_one_the_code_validates_with(pair):
    source, _target, tmp = pair
    published = json.loads(SCHEMA.read_text())
    assert published == json.loads(orjson.dumps(json_schema())), "regenerate docs/export-schema.json (docs/transfer.md)"
    archive = tmp / "s.zip"
    source.transfer.export(str(archive), ["userdata", "collections", "recipes", "usage", "settings"])
    members = published["x-members"]
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            if name.endswith(".json"):
                jsonschema.validate(json.loads(zf.read(name)), {**published, **members[name]})
        lines = zf.read("usage.jsonl").splitlines()
        jsonschema.validate(json.loads(lines[0]), {**published, **members["usage.jsonl (first line)"]})
        for line in lines[1:]:
            jsonschema.validate(json.loads(line), {**published, **members["usage.jsonl (every further line)"]})
