"""Reading files again lists each folder once: the hasher reads again whole batches of one folder, and a
listing per file made that quadratic in the folder's size (a 100k library with 5,000 LoRAs per folder
stalled for minutes). The entries are the walk's own, companions included, whatever names sit beside."""

from __future__ import annotations

import os

from lora_manager.library import walker
from lora_manager.library.walker import entries_for, entry_for, walk

from .loras import write_lora


def _library(root):
    for name in ("a", "a.b", "a b", "ab", "c"):
        write_lora(root / "f" / f"{name}.safetensors", seed=len(name))
    for companion in ("a.json", "a.b.json", "a.b.preview.png", "a.civitai.info", "ab.txt", "c.preview.jpeg"):
        (root / "f" / companion).write_bytes(b"{}")
    write_lora(root / "g" / "other.safetensors")
    return [str(root / "f" / f"{n}.safetensors") for n in ("a", "a.b", "a b", "ab", "c")]


def test_entries_for_equal_the_walks_and_list_each_folder_once(tmp_path, monkeypatch):
    paths = _library(tmp_path)
    by_walk = {e.path: e for e in walk([str(tmp_path)]).files}
    listed: list[str] = []
    real = os.scandir

    def counting(path="."):
        listed.append(os.fspath(path))
        return real(path)

    monkeypatch.setattr(walker.os, "scandir", counting)
    picked = paths[:2] + paths[3:]  # not "a b": its files stay unread
    found = entries_for([(p, str(tmp_path)) for p in picked] + [(str(tmp_path / "g" / "other.safetensors"),
                                                                   str(tmp_path))])
    assert sorted(listed) == [str(tmp_path / "f"), str(tmp_path / "g")]  # one listing per folder
    assert set(found) == set(picked) | {str(tmp_path / "g" / "other.safetensors")}
    for path, entry in found.items():
        assert entry == by_walk[path], path  # companions go where the full walk puts them ("a.b.json" to "a.b")
    assert found[paths[0]].companions == ("a.civitai.info", "a.json")
    assert entry_for(paths[2], str(tmp_path)) == by_walk[paths[2]]
    assert entries_for([(str(tmp_path / "f" / "gone.safetensors"), str(tmp_path))]) == {}


def test_reading_a_batch_again_lists_its_folder_once(tmp_path, monkeypatch):
    from lora_manager.app import build
    from lora_manager.settings import Settings
    from lora_manager.sync.reprobe import reprobe

    paths = _library(tmp_path / "lib")
    core = build(Settings(lora_dirs=[str(tmp_path / "lib")], data_dir=str(tmp_path / "data"), embed_model="off"))
    try:
        core.scan(wait_hashes=True)
        ids = [core.catalog.resolve(os.path.basename(p)) for p in paths]
        listed: list[str] = []
        real = os.scandir
        monkeypatch.setattr(walker.os, "scandir", lambda path=".": listed.append(os.fspath(path)) or real(path))
        assert sorted(reprobe(core.hasher.scan_store, core.hasher.catalog_store, ids)) == sorted(ids)
        assert listed == [str(tmp_path / "lib" / "f")]
    finally:
        core.close()
