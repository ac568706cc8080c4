"""A first index walks without stat calls: each file and its companions are stat'ed where they are read
(walker `stat=False` + `fill_stat`, in the header workers). What it stores must be what a walk with stat
gives, so that the next rescan finds every file unchanged."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from lora_manager.library.probe import probe
from lora_manager.library.walker import fill_stat, walk
from lora_manager.storage.models import Lora
from lora_manager.sync import scanner as scanner_mod

from .loras import write_lora


def _library(root, count: int = 12) -> None:
    for i in range(count):
        folder = root / f"f{i % 3}"
        write_lora(folder / f"style_{i}.safetensors", seed=i)
        if i % 2:
            (folder / f"style_{i}.civitai.info").write_text('{"id": %d, "trainedWords": ["w%d"]}' % (i, i))
        if i % 3:
            (folder / f"style_{i}.preview.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(i))
    # A base that is a prefix of another: each companion goes to the longest base it starts with.
    write_lora(root / "f0" / "style.safetensors", seed=100)
    write_lora(root / "f0" / "style.v2.safetensors", seed=101)
    (root / "f0" / "style.v2.preview.png").write_bytes(b"\x89PNG\r\n\x1a\nv2")
    (root / "f0" / "style.txt").write_text("a trigger")


def _facts(entries) -> dict:
    return {e.path: (e.size, e.mtime_ns, e.companions, e.companion_sig) for e in entries}


def test_a_walk_without_stat_then_fill_stat_gives_what_a_walk_with_stat_gives(library):
    _library(library)
    eager = walk([str(library)])
    lazy = walk([str(library)], stat=False)
    assert {e.path for e in lazy.files} == {e.path for e in eager.files}
    assert all(e.size is None and e.mtime_ns is None and e.companion_sig is None for e in lazy.files)
    for entry in lazy.files:
        fill_stat(entry)
    assert _facts(lazy.files) == _facts(eager.files)
    assert any(e.companion_sig for e in eager.files)


def test_a_companion_gone_before_the_read_is_left_out_as_a_walk_would(library):
    _library(library, 3)
    lazy = walk([str(library)], stat=False)
    gone = library / "f1" / "style_1.civitai.info"
    gone.unlink()
    entry = next(e for e in lazy.files if e.name == "style_1.safetensors")
    assert "style_1.civitai.info" in entry.companions
    fill_stat(entry)
    again = next(e for e in walk([str(library)]).files if e.name == "style_1.safetensors")
    assert _facts([entry]) == _facts([again])


def test_a_lora_gone_before_the_read_is_reported_broken_by_the_probe(library):
    path = write_lora(library / "gone.safetensors")
    (entry,) = walk([str(library)], stat=False).files
    os.unlink(path)
    result = probe(entry)
    assert result.state == "broken" and result.error.startswith("cannot read file")
    assert (result.size, result.mtime_ns, result.companion_sig, result.sidecars) == (0, 0, 0, [])


def _stored(app) -> dict:
    with app.db.engine.connect() as conn:
        return {r.path: (r.size, r.mtime_ns, r.companion_sig)
                for r in conn.execute(select(Lora.path, Lora.size, Lora.mtime_ns, Lora.companion_sig))}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_first_index_stores_what_a_walk_with_stat_gives_and_a_rescan_finds_all_unchanged(
        make_app, library, monkeypatch, workers):
    _library(library)
    monkeypatch.setattr(scanner_mod, "POOL_THRESHOLD", 5)  # workers 2: the header workers stat the files
    calls = []
    real_walk = scanner_mod.walk
    monkeypatch.setattr(scanner_mod, "walk", lambda *a, **kw: calls.append(kw.get("stat")) or real_walk(*a, **kw))
    app = make_app(library, scan_workers=workers)
    first = app.scan(hash_after=False)
    assert first.new == first.total == 14 and first.broken == 0
    eager = walk([str(library)]).files
    assert _stored(app) == {e.path: (e.size, e.mtime_ns, e.companion_sig) for e in eager}
    second = app.scan(hash_after=False)
    assert (second.unchanged, second.new, second.changed) == (14, 0, 0)
    assert calls == [False, True]  # the rescan compares: its walk stats


def test_a_file_gone_between_the_walk_and_its_read_is_not_indexed(make_app, library, monkeypatch):
    _library(library, 6)
    gone = library / "f2" / "style_2.safetensors"
    real_walk = scanner_mod.walk

    def walk_then_delete(*a, **kw):
        result = real_walk(*a, **kw)
        if gone.exists():
            gone.unlink()
        return result

    monkeypatch.setattr(scanner_mod, "walk", walk_then_delete)
    app = make_app(library, scan_workers=1)
    report = app.scan(hash_after=False)
    assert report.new == 7 and str(gone) not in _stored(app)
    assert len(_stored(app)) == 7


def test_rows_that_came_during_a_walk_without_stat_are_compared_as_a_rescan_compares(make_app, library, monkeypatch):
    """Another host on the same database indexed the library while this walk ran: the entries are stat'ed
    before they are compared, and nothing is read again."""
    _library(library)
    app = make_app(library, scan_workers=1)
    app.scan(hash_after=False)
    before = _stored(app)
    real_counts = app.scanner.catalog_store.counts
    answers = [{}]  # seen empty when the scan began, as it was then
    monkeypatch.setattr(app.scanner.catalog_store, "counts", lambda: answers.pop() if answers else real_counts())
    read = []
    real = scanner_mod.probe_many
    monkeypatch.setattr(scanner_mod, "probe_many", lambda part, *a, **kw: read.extend(part) or real(part, *a, **kw))
    report = app.scan(hash_after=False)
    assert report.unchanged == 14 and report.new == 0 and read == []
    assert _stored(app) == before
