"""Folders created and renamed, the trash emptied, entries forgotten, bulk file actions: on SQLite and
PostgreSQL, never outside a library root, user data following every move."""

from __future__ import annotations

import os

import pytest

from lora_manager.errors import Conflict, InvalidInput, NotFound

from .conftest import scan
from .loras import write_lora


@pytest.fixture
def lib(app, library):
    write_lora(library / "chars" / "alice.safetensors")
    (library / "chars" / "alice.preview.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    write_lora(library / "chars" / "deep" / "carol.safetensors", seed=3)
    write_lora(library / "bob.safetensors", seed=2)
    scan(app)
    app.catalog.edit("alice", {"favorite": True, "notes": "mine", "tags": ["x"]})
    return app


def test_create_folder_inside_the_root_only(lib, library, tmp_path):
    root = str(library)
    assert lib.actions.folders.create(root, "new/sub") == {"root": root, "path": "new/sub"}
    assert (library / "new" / "sub").is_dir()
    with pytest.raises(Conflict):
        lib.actions.folders.create(root, "new/sub")
    for bad in ("../out", "a/../../out", "a/./b", " lead", "trail.", "a\x00b", "", ".hidden"):
        with pytest.raises(InvalidInput):
            lib.actions.folders.create(root, bad)
    with pytest.raises(NotFound):
        lib.actions.folders.create(str(tmp_path), "x")  # not a root
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, library / "link")
    with pytest.raises(InvalidInput):
        lib.actions.folders.create(root, "link/inner")  # a link out of the root
    assert list(outside.iterdir()) == [] and not (tmp_path / "out").exists()


def test_rename_folder_moves_files_index_and_user_data(lib, library):
    alice = lib.catalog.get("alice")
    assert lib.actions.folders.rename(str(library), "chars", "people") == {"moved": 2}
    assert not (library / "chars").exists()
    assert (library / "people" / "alice.preview.png").exists()
    moved = lib.catalog.get(alice["id"])
    assert moved["path"] == str(library / "people" / "alice.safetensors") and moved["folder"] == "people"
    assert moved["favorite"] and moved["notes"] == "mine" and moved["tags"] == ["x"]
    assert lib.catalog.get("carol")["folder"] == "people/deep"
    report = scan(lib)
    assert (report.moved, report.missing, report.new) == (0, 0, 0), "the index already knows the new paths"


def test_rename_folder_refuses_collisions_and_escapes(lib, library, tmp_path):
    (library / "taken").mkdir()
    with pytest.raises(Conflict):
        lib.actions.folders.rename(str(library), "chars", "taken")
    for bad in ("../x", "a/b", ".."):
        with pytest.raises(InvalidInput):
            lib.actions.folders.rename(str(library), "chars", bad)
    with pytest.raises(NotFound):
        lib.actions.folders.rename(str(library), "nope", "x")
    outside = tmp_path / "outside"
    (outside / "inner").mkdir(parents=True)
    os.symlink(outside, library / "link")
    with pytest.raises(NotFound):
        lib.actions.folders.rename(str(library), "link", "renamed")  # the link itself is no folder of ours
    with pytest.raises(InvalidInput):
        lib.actions.folders.rename(str(library), "link/inner", "renamed")  # a folder reached through it
    assert (outside / "inner").is_dir() and (library / "link").is_symlink()
    assert (library / "chars" / "alice.safetensors").exists()


def test_trashed_entry_restores_into_a_renamed_folder(lib, library):
    lib.files.trash("alice")
    lib.actions.folders.rename(str(library), "chars", "people")
    back = lib.files.restore("alice")
    assert back["path"] == str(library / "people" / "alice.safetensors") and back["favorite"]


def test_delete_for_good_only_from_the_trash(lib, library):
    with pytest.raises(Conflict):
        lib.actions.trash.delete("bob")  # not in the trash
    assert (library / "bob.safetensors").exists()
    trashed = lib.files.trash("alice")
    folder = os.path.dirname(trashed["path"])
    assert lib.actions.trash.delete("alice") == {"deleted": trashed["id"]}
    assert not os.path.exists(folder) and not (library / "chars" / "alice.safetensors").exists()
    with pytest.raises(NotFound):
        lib.catalog.get(trashed["id"])
    assert lib.catalog.get("bob")["state"] == "ok"


def test_a_trashed_row_pointing_outside_the_trash_is_never_deleted(lib, library, tmp_path):
    trashed = lib.files.trash("bob")
    victim = tmp_path / "victim" / "bob.safetensors"
    victim.parent.mkdir()
    victim.write_bytes(b"keep me")
    from sqlalchemy import update

    from lora_manager.storage.base import L

    with lib.db.engine.begin() as conn:  # the row as a damaged or hostile database could hold it
        conn.execute(update(L).where(L.c.id == trashed["id"]).values(path=str(victim)))
    with pytest.raises(Conflict):
        lib.actions.trash.delete(trashed["id"])
    assert victim.read_bytes() == b"keep me"


def test_empty_the_trash(lib, library):
    lib.files.trash("alice")
    lib.files.trash("bob")
    assert lib.actions.trash.empty() == {"deleted": 2}
    assert lib.catalog.counts()["trashed"] == 0 and lib.actions.trash.empty() == {"deleted": 0}
    assert os.listdir(lib.settings.trash_dir) == []
    assert lib.catalog.get("carol")["state"] == "ok"


def test_forget_only_a_missing_entry(lib, library):
    with pytest.raises(Conflict):
        lib.actions.trash.forget("bob")
    (library / "bob.safetensors").unlink()
    scan(lib)
    bob = lib.catalog.get("bob")
    assert bob["state"] == "missing"
    assert lib.actions.trash.forget("bob") == {"forgotten": bob["id"]}
    with pytest.raises(NotFound):
        lib.catalog.get(bob["id"])


def test_bulk_move_restore_and_forget_skip_with_reasons(lib, library):
    ids = [lib.catalog.resolve(k) for k in ("alice", "bob")]
    done = lib.actions.bulk(ids, "move", "sorted")
    assert done == {"changed": 2, "skipped": []}
    assert sorted(p.name for p in (library / "sorted").iterdir()) == ["alice.preview.png", "alice.safetensors",
                                                                      "bob.safetensors"]
    assert lib.catalog.get("alice")["favorite"]
    escape = lib.actions.bulk(ids, "move", "/etc")
    assert escape["changed"] == 0 and len(escape["skipped"]) == 2 and "inside a library root" in \
        escape["skipped"][0]["reason"]
    with pytest.raises(InvalidInput):
        lib.actions.bulk(ids, "move", " ")
    lib.files.trash("alice")
    restored = lib.actions.bulk(ids, "restore")
    assert restored["changed"] == 1 and restored["skipped"][0]["id"] == ids[1]
    forgot = lib.actions.bulk(ids, "forget")
    assert forgot["changed"] == 0 and len(forgot["skipped"]) == 2
    assert lib.actions.bulk(ids, "favorite") == {"changed": 2}
