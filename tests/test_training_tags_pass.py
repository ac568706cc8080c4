"""A large scan leaves training tags and the stored metadata for a background pass, which fills them in
soon after and never writes over a row a later scan rewrote (sync/training.py, storage/training_store.py)."""

from __future__ import annotations

import json
import os

import orjson
import pytest
from sqlalchemy import select, text

from lora_manager.library.header import read_header
from lora_manager.library.metadata import trimmed_metadata, training_tags
from lora_manager.library.records import NOT_READ
from lora_manager.storage.base import L
from lora_manager.storage.scan_store import SqlScanStore
from lora_manager.storage.training_store import SqlTrainingTagStore, TrainingTodo
from lora_manager.sync.scanner import POOL_THRESHOLD
from lora_manager.sync.training import TrainingTagsPass

from .loras import write_lora


def _freq(i: int) -> str:
    # Two dataset folders; a tag with kohya's leading space; counts that rank differently per file.
    return json.dumps({"10_a": {"1girl": 5 + i, " smile": 3, f"tag{i}": 7},
                       "5_b": {"1girl": 1, "smile": 2, "outdoors": i % 4}})


@pytest.fixture
def big_library(library):
    count = POOL_THRESHOLD + 10
    for i in range(count):
        write_lora(library / f"f{i // 50}" / f"lora_{i:04d}.safetensors", seed=i,
                   metadata={"ss_tag_frequency": _freq(i)})
    write_lora(library / "plain.safetensors", seed=9999)  # no tag frequencies at all
    return count + 1


def _stored(db, column: str = "training_tags") -> dict[str, str]:
    """path -> the stored text of training_tags (or `column`), as it is in the table."""
    with db.engine.connect() as conn:
        return {r[0]: r[1] for r in conn.execute(text(f"SELECT path, {column} FROM loras"))}  # noqa: S608


def _expected(path: str) -> list[list]:
    return [list(t) for t in training_tags(read_header(path).metadata)]


def _expected_meta(path: str) -> dict:
    return trimmed_metadata(read_header(path).metadata)


def test_a_pooled_scan_leaves_the_tags_and_the_pass_fills_every_one(make_app, library, big_library, monkeypatch):
    app = make_app(library, scan_workers=2)
    report = app.scanner.scan()  # the scan alone: what the cold index times
    assert report.new == big_library
    stored = _stored(app.db)
    assert set(stored.values()) == {"null"}  # left for the pass, not computed in the workers
    assert set(_stored(app.db, "meta").values()) == {"null"}  # the metadata too: most of a row's bytes
    entry = app.catalog.list(limit=1, fields=["id", "training_tags"]).items[0]
    assert entry["training_tags"] == []  # "none yet" reads as an empty list, never as null
    assert app.catalog.get(entry["id"])["metadata"] == {}  # and the metadata as an empty object
    raw = app.catalog.list(limit=5, fields=["training_tags"], raw_json=True).items
    assert all(orjson.loads(orjson.dumps(e["training_tags"])) == [] for e in raw)

    filled: list[int] = []
    app.scans.training.on_filled = filled.extend
    from lora_manager.sync import training as training_module

    def not_here(*_):
        raise AssertionError("a large pass reads in the header workers, not in this process")

    monkeypatch.setattr(training_module, "read_left_out_many", not_here)
    app.scans.training.wake()
    assert app.scans.training.wait(60)
    stored = _stored(app.db)
    for path, value in stored.items():
        assert json.loads(value) == _expected(path), path
    metas = _stored(app.db, "meta")
    for path, value in metas.items():
        assert json.loads(value) == _expected_meta(path), path
    one = app.catalog.get(entry["id"])
    assert one["metadata"] and one["metadata"] == _expected_meta(one["path"])  # the entry's detail shows it
    assert len(filled) == big_library == app.scans.training.filled
    some = os.path.join(str(library), "f0", "lora_0003.safetensors")
    assert json.loads(stored[some])[0] == ["1girl", 9]  # 5 + 3 and 1, merged over folders
    assert json.loads(metas[some])["ss_tag_frequency"].endswith("characters, summarised>")
    assert app.scans.training.status() == {"running": False, "filled": big_library, "skipped": 0}


def test_the_scan_of_the_app_returns_with_the_tags_read(make_app, library, big_library):
    app = make_app(library, scan_workers=2)
    app.scan(hash_after=False)
    assert "null" not in _stored(app.db).values()
    key = os.path.join(str(library), "f1", "lora_0060.safetensors")
    entry = next(e for e in app.catalog.list(limit=1000, fields=["path", "training_tags"]).items if e["path"] == key)
    assert entry["training_tags"] == _expected(key)


def test_a_small_scan_reads_the_tags_itself(make_app, library):
    write_lora(library / "one.safetensors", metadata={"ss_tag_frequency": _freq(1)})
    app = make_app(library, scan_workers=2)
    app.scanner.scan()
    assert json.loads(_stored(app.db)[str(library / "one.safetensors")]) == _expected(str(library / "one.safetensors"))


def test_the_recommender_hears_of_the_rows_filled_in(make_app, library, big_library):
    app = make_app(library, scan_workers=2)
    app.scanner.scan()
    heard: list = []
    app.events.on_library_changed(heard.append, inline=True)
    app.scans.training.wake()
    app.scans.training.wait(60)
    ids = {i for change in heard for i in (change.ids or ())}
    assert len(ids) == big_library and all(not change.files for change in heard)


def test_a_file_changed_since_the_scan_is_left_for_the_next_scan(make_app, library, big_library):
    app = make_app(library, scan_workers=2)
    app.scanner.scan()
    path = str(library / "f0" / "lora_0001.safetensors")
    st = os.stat(path)
    write_lora(path, seed=1, metadata={"ss_tag_frequency": json.dumps({"x": {"changed": 1}})})
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: only the header tells
    app.scans.training.wake()
    app.scans.training.wait(60)
    assert _stored(app.db)[path] == "null" and app.scans.training.skipped == 1
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    app.scan(hash_after=False)  # the scan reads the file again, and the tags come from what it is now
    assert json.loads(_stored(app.db)[path]) == [["changed", 1]]


def test_the_store_writes_only_rows_that_still_wait_for_the_file_read(db):
    store = SqlTrainingTagStore(db)
    base = {"root": "/r", "folder": "", "ext": ".safetensors", "state": "ok", "companion_sig": 0, "error": None,
            "triggers": [], "source_tags": [], "meta": {}, "sidecars": [], "previews": [], "suggested": {}}
    rows = [{**base, "path": f"/r/{n}.safetensors", "file_name": f"{n}.safetensors", "prompt_name": n, "size": 10,
             "mtime_ns": 5, "header_digest": "d", "training_tags": tags}
            for n, tags in (("wait", NOT_READ), ("stale", NOT_READ), ("done", [["a", 1]]), ("gone", NOT_READ))]
    SqlScanStore(db).insert_files(rows)
    with db.engine.begin() as conn:
        ids = list(conn.execute(select(L.c.id).order_by(L.c.id)).scalars())
        conn.execute(L.update().where(L.c.id == ids[3]).values(state="missing"))
    waiting = store.waiting()
    assert [t.id for t in waiting] == ids[:2] and store.waiting_count() == 2  # not the done one, nor a missing file
    assert store.waiting(after=ids[0]) == [waiting[1]]
    wait, stale = waiting
    moved_on = TrainingTodo(stale.id, stale.path, stale.size, stale.mtime_ns, "another header")
    done = TrainingTodo(ids[2], "/r/done.safetensors", 10, 5, "d")
    assert store.save([(wait, ([["x", 2]], {"k": "v"})), (moved_on, ([["y", 1]], {"k": "w"})),
                       (done, ([["z", 9]], {"k": "z"}))]) == [wait.id]
    with db.engine.connect() as conn:
        got = {r[0]: tuple(r[1:]) for r in conn.execute(select(L.c.id, L.c.training_tags, L.c.meta))}
    assert got[wait.id] == ([["x", 2]], {"k": "v"})  # both written, where the row still waits for that header
    assert got[stale.id] == (None, {}) and got[ids[2]] == ([["a", 1]], {})


def test_a_reader_bug_on_one_file_does_not_stop_the_pass(make_app, library, big_library, monkeypatch):
    app = make_app(library, scan_workers=2)
    app.scanner.scan()
    from lora_manager.library import training_tags as reader

    real = reader.read_left_out
    bad = str(library / "f0" / "lora_0002.safetensors")

    def odd(path, size, digest):
        if path == bad:
            raise ValueError("a bug")
        return real(path, size, digest)

    monkeypatch.setattr(reader, "read_left_out", odd)
    run = TrainingTagsPass(app.scans.training.store, workers=1)  # in this process, where the bug is put
    run.wake()
    assert run.wait(60)
    stored = _stored(app.db)
    assert stored[bad] == "[]" and "null" not in stored.values()  # recorded as none, not asked for at every scan
    assert _stored(app.db, "meta")[bad] == "{}" and "null" not in _stored(app.db, "meta").values()


def test_dead_workers_leave_the_pass_to_this_process(make_app, library, big_library, monkeypatch):
    import subprocess
    import sys

    from lora_manager.library.probe_pool import ProbePool

    app = make_app(library, scan_workers=2)
    app.scanner.scan()

    def broken_spawn(self):
        return subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.buffer.read(10); sys.exit(3)"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    monkeypatch.setattr(ProbePool, "_spawn", broken_spawn)
    app.scans.training.wake()
    assert app.scans.training.wait(60)
    assert "null" not in _stored(app.db).values() and app.scans.training.filled == big_library


def test_with_several_hosts_each_reads_the_files_where_it_sees_them(tmp_path, library, big_library):
    import shutil

    from lora_manager.app import build
    from lora_manager.settings import Settings

    from .conftest import pg_schema

    copy = tmp_path / "copy"
    shutil.copytree(library, copy)
    with pg_schema() as url:
        apps = [build(Settings(lora_dirs=[str(root)], data_dir=str(tmp_path / f"data-{name}"), db_url=url,
                               host_id=name, scan_workers=2, embed_model="off"))
                for name, root in (("a", library), ("b", copy))]
        try:
            for app in apps:
                app.scanner.scan()  # the scans alone: both leave the tags
            shutil.rmtree(library)  # host a's files are gone: the rows' paths are a's
            b = apps[1]
            assert "null" in _stored(b.db).values()
            b.scans.training.wake()
            assert b.scans.training.wait(60)
            stored = _stored(b.db)
            assert "null" not in stored.values() and b.scans.training.filled == big_library
            one = json.loads(stored[str(library / "f0" / "lora_0003.safetensors")])
            assert one == _expected(str(copy / "f0" / "lora_0003.safetensors"))
        finally:
            for app in apps:
                app.close()


def test_tags_left_by_an_earlier_process_are_read_at_the_first_scan_and_unchanged_rescans_skip_the_look(
        make_app, library, big_library):
    first = make_app(library, scan_workers=2)
    first.scanner.scan()  # the process ends before its pass ran
    first.close()
    later = make_app(library, scan_workers=2)
    woken: list[int] = []
    real = later.scans.training.wake
    later.scans.training.wake = lambda: (woken.append(1), real())[1]
    report = later.scan(hash_after=False)
    assert report.unchanged == big_library and report.new == 0
    assert "null" not in _stored(later.db).values() and woken == [1]
    later.scan(hash_after=False)
    assert woken == [1]  # nothing written, nothing left from before: no look
    write_lora(library / "new.safetensors", seed=777, metadata={"ss_tag_frequency": _freq(7)})
    later.scan(hash_after=False)
    assert woken == [1, 1]
    new = str(library / "new.safetensors")
    assert json.loads(_stored(later.db)[new]) == _expected(new)


def test_the_passs_fills_are_no_ones_edit_and_write_no_sidecar(make_app, library):
    """With the write-back on, an edit writes the LoRA's `<base>.json`; the pass filling in training tags is
    no one's edit and writes none, not even for a LoRA with user data the file lacks (notes set while the
    write-back was off: the user's next edit writes them)."""
    for i in range(POOL_THRESHOLD + 10):
        write_lora(library / f"lora_{i:04d}.safetensors", seed=i,
                   metadata={"ss_tag_frequency": _freq(i), "modelspec.trigger_phrase": f"word{i}"})
    app = make_app(library, scan_workers=2, write_sidecars=True)
    app.scanner.scan()
    app.transfer.sidecars_enabled = lambda: False
    app.catalog.edit("lora_0003", {"notes": "set while it was off"})
    app.transfer.sidecars_enabled = lambda: True
    heard: list = []
    app.events.on_library_changed(heard.append, inline=True)
    app.scans.training.wake()
    assert app.scans.training.wait(60) and app.scans.training.filled == POOL_THRESHOLD + 10
    app.transfer.writer.wait()
    assert heard and all(change.filled for change in heard)
    assert sorted(p.name for p in library.glob("*.json")) == []
    app.catalog.edit("lora_0004", {"notes": "mine"})  # an edit writes
    app.transfer.writer.wait()
    assert orjson.loads((library / "lora_0004.json").read_bytes()) == {"activation text": "word4", "notes": "mine"}
    assert sorted(p.name for p in library.glob("*.json")) == ["lora_0004.json"]
