"""The folder tree's walk of a root is kept between calls, and never outlives a folder created, renamed
or removed (on disk by another program, or through our own actions): on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import time

from lora_manager.catalog.disk_folders import DiskFolders

from .conftest import scan
from .loras import write_lora

AN_HOUR_AGO = time.time() - 3600


def _age(root) -> None:
    """Every directory under `root` last changed an hour ago (a walk of them is trusted and kept)."""
    for top, dirs, _files in os.walk(root):
        os.utime(top, (AN_HOUR_AGO, AN_HOUR_AGO))


def _tree(app) -> dict[str, dict]:
    (root,) = app.catalog.folders(app.settings.lora_dirs, skip=(app.settings.data_dir,))["roots"]
    return {f["path"]: f for f in root["folders"]}


def test_a_kept_walk_follows_every_change_of_a_folder(tmp_path):
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / ".hidden" / "x").mkdir(parents=True)
    _age(root)
    disk = DiskFolders()
    assert disk.folders(str(root), set()) == {"a", "a/b"} and disk.walks == 1
    assert disk.folders(str(root), set()) == {"a", "a/b"} and disk.walks == 1, "nothing changed: no walk"
    (root / "a" / "b" / "c").mkdir()
    assert disk.folders(str(root), set()) == {"a", "a/b", "a/b/c"} and disk.walks == 2
    _age(root)
    disk.folders(str(root), set())
    os.rename(root / "a" / "b", root / "a" / "renamed")
    assert disk.folders(str(root), set()) == {"a", "a/renamed", "a/renamed/c"}
    _age(root)
    disk.folders(str(root), set())
    (root / "a" / "renamed" / "c").rmdir()
    assert disk.folders(str(root), set()) == {"a", "a/renamed"}
    _age(root)
    disk.folders(str(root), set())
    (root / ".hidden" / "y").mkdir()  # inside a folder the tree leaves out: the kept walk stays
    walks = disk.walks
    assert disk.folders(str(root), set()) == {"a", "a/renamed"} and disk.walks == walks
    assert disk.folders(str(root), {str(root / "a")}) == set(), "another skip list is another walk"


def test_a_walk_of_freshly_changed_folders_is_not_kept(tmp_path):
    (tmp_path / "new").mkdir()
    disk = DiskFolders()
    assert disk.folders(str(tmp_path), set()) == {"new"}
    assert disk.folders(str(tmp_path), set()) == {"new"} and disk.walks == 2, "changed too recently to trust"
    # a change in the same tick of the file system's clock would leave the times as they were
    (tmp_path / "new" / "inner").mkdir()
    assert disk.folders(str(tmp_path), set()) == {"new", "new/inner"}


def test_the_tree_follows_our_own_actions_and_the_disk(app, library):
    write_lora(library / "chars" / "alice.safetensors")
    write_lora(library / "chars" / "deep" / "carol.safetensors", seed=3)
    write_lora(library / "bob.safetensors", seed=2)
    scan(app)
    _age(library)
    assert set(_tree(app)) == {"chars", "chars/deep"}
    app.actions.folders.create(str(library), "made/here")
    assert set(_tree(app)) == {"chars", "chars/deep", "made", "made/here"}
    _age(library)
    _tree(app)
    app.actions.folders.rename(str(library), "chars", "people")
    tree = _tree(app)
    assert set(tree) == {"people", "people/deep", "made", "made/here"}
    assert tree["people"]["count"] == 2 and tree["people/deep"]["direct"] == 1
    _age(library)
    _tree(app)
    os.rename(library / "made" / "here", library / "made" / "there")  # another program, no scan
    assert set(_tree(app)) == {"people", "people/deep", "made", "made/there"}
