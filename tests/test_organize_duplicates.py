"""Auto-organize by a template (dry run first, collisions skipped, user data following) and duplicates
resolved (the others to the trash, their user data merged into the kept one): SQLite and PostgreSQL."""

from __future__ import annotations

import shutil

import pytest

from lora_manager.catalog.organize import render
from lora_manager.errors import Conflict, InvalidInput

from .conftest import scan
from .loras import write_lora


@pytest.fixture
def lib(app, library):
    write_lora(library / "alice.safetensors", metadata={"modelspec.author": "Kim/Lee", "modelspec.title": "Alice"})
    (library / "alice.preview.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (library / "alice.txt").write_text("about alice")
    write_lora(library / "bob.safetensors", family="xl", seed=2)
    write_lora(library / "x" / "bob.safetensors", family="xl", seed=5)  # the same name in another folder
    scan(app)
    app.catalog.edit("alice", {"favorite": True, "tags": ["portrait"]})
    return app


def snapshot(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_dry_run_lists_every_move_and_changes_nothing(lib, library):
    before = snapshot(library)
    report = lib.actions.organizer.organize("{base}/{type}", dry_run=True)
    assert report["dry_run"] and report["moved"] == 0
    moves = {m["from"]: m["to"] for m in report["moves"]}
    assert moves[str(library / "alice.safetensors")] == str(library / "SD 1.x" / "LoRA" / "alice.safetensors")
    assert str(library / "bob.safetensors") in moves
    skipped = report["skipped"]
    assert len(skipped) == 1 and "same name" in skipped[0]["reason"], "two bob.safetensors cannot share a folder"
    assert snapshot(library) == before


def test_organize_moves_with_companions_and_user_data(lib, library):
    alice = lib.catalog.get("alice")
    report = lib.actions.organizer.organize("{creator}/{first_tag}", keys=["alice"], dry_run=False)
    assert report["moved"] == 1 and report["skipped"] == []
    folder = library / "Kim_Lee" / "portrait"  # "/" in a value cannot make a folder
    assert sorted(p.name for p in folder.iterdir()) == ["alice.preview.png", "alice.safetensors", "alice.txt"]
    moved = lib.catalog.get(alice["id"])
    assert moved["favorite"] and moved["tags"] == ["portrait"] and moved["folder"] == "Kim_Lee/portrait"
    again = lib.actions.organizer.organize("{creator}/{first_tag}", keys=["alice"], dry_run=False)
    assert again["moved"] == 0 and again["unchanged"] == 1


def test_collision_with_a_file_on_disk_is_skipped(lib, library):
    (library / "SDXL" / "LoRA").mkdir(parents=True)
    (library / "SDXL" / "LoRA" / "bob.safetensors").write_bytes(b"someone else's")
    report = lib.actions.organizer.organize("{base}/{type}", keys=["bob"], dry_run=False)
    assert report["moved"] == 0 and "already there" in report["skipped"][0]["reason"]
    assert (library / "bob.safetensors").exists()
    assert (library / "SDXL" / "LoRA" / "bob.safetensors").read_bytes() == b"someone else's"


def test_templates_never_leave_the_root(lib, library, tmp_path):
    row = {"file_name": "a.safetensors", "author": "../..", "title": "/etc", "base_family": "sd1"}
    assert render("../{creator}/{model_name}/..", row) == ["_", "_", "_etc", "_"]
    assert render("{creator}", {**row, "author": None}) == ["unknown"]
    for bad in ("", "/", "{nope}", "{base", "a}b"):
        with pytest.raises(InvalidInput):
            lib.actions.organizer.organize(bad)
    report = lib.actions.organizer.organize("../../{creator}", dry_run=False)
    assert all(m["to"].startswith(str(library) + "/") for m in report["moves"])
    assert not list(tmp_path.glob("_*"))


@pytest.fixture
def dups(lib, library):
    shutil.copy(library / "alice.safetensors", library / "copy.safetensors")
    shutil.copy(library / "alice.safetensors", library / "x" / "copy2.safetensors")
    scan(lib)
    lib.catalog.edit("copy", {"rating": 4, "notes": "from the copy", "tags": ["extra"],
                              "triggers": ["kept word"], "preferred_weight": 0.7})
    lib.catalog.edit("copy2", {"rating": 2, "notes": "second"})
    lib.catalog.edit("alice", {"notes": "mine"})
    return lib


def test_resolve_keeps_one_and_merges_user_data(dups, library):
    keep = dups.catalog.get("alice")
    others = sorted(d["id"] for d in keep["duplicates"])
    assert len(others) == 2
    report = dups.actions.duplicates.resolve("alice")
    assert report["kept"] == keep["id"] and sorted(report["trashed"]) == others
    kept = dups.catalog.get("alice")
    assert kept["favorite"] and kept["rating"] == 4 and kept["tags"] == ["extra", "portrait"]
    assert kept["notes"] == "mine\n\nfrom the copy\n\nsecond"
    assert kept["triggers"] == ["kept word"] and kept["preferred_weight"] == 0.7
    assert kept["duplicates"] == [] and not (library / "copy.safetensors").exists()
    assert all(dups.catalog.get(i)["state"] == "trashed" for i in others)
    assert dups.catalog.get(others[0])["notes"] == "from the copy", "a trashed copy keeps its own data"
    with pytest.raises(Conflict):
        dups.actions.duplicates.resolve("alice")  # nothing left to resolve
