"""Cold scans read headers in worker subprocesses; a dead worker costs speed, never entries."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from lora_manager.library.probe_pool import ProbePool, WorkerDied
from lora_manager.library.walker import walk
from lora_manager.sync.scanner import POOL_THRESHOLD

from .loras import write_lora


@pytest.fixture
def big_library(library):
    count = POOL_THRESHOLD + 20
    for i in range(count):
        write_lora(library / f"f{i // 50}" / f"lora_{i:04d}.safetensors", family=("sd1", "xl")[i % 2], seed=i,
                   metadata={"modelspec.trigger_phrase": f"word{i}"})
    (library / "broken.safetensors").write_bytes(b"\x00" * 3)
    return count + 1


def _rows(app):
    page = app.catalog.list(limit=1000)
    return page.total, sorted((e["path"], e["state"], e["base_model"], tuple(e["triggers"])) for e in page.items)


def test_pool_and_single_process_agree(make_app, library, big_library, tmp_path):
    pooled = make_app(library, scan_workers=2)
    report = pooled.scan(hash_after=False)
    assert report.new == big_library and report.broken == 1
    total, rows = _rows(pooled)
    assert total == big_library
    from lora_manager.app import build
    from lora_manager.settings import Settings

    single = build(Settings(lora_dirs=[str(library)], data_dir=str(tmp_path / "d1"),
                            db_url=f"sqlite:///{tmp_path}/single.db", scan_workers=1))
    try:
        single.scan(hash_after=False)
        assert _rows(single) == (total, rows)
    finally:
        single.close()


def test_dead_workers_fall_back_to_this_process(make_app, library, big_library, monkeypatch):
    def broken_spawn(self):
        return subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.buffer.read(10); sys.exit(3)"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    monkeypatch.setattr(ProbePool, "_spawn", broken_spawn)
    app = make_app(library, scan_workers=2)
    report = app.scan(hash_after=False)
    assert report.new == big_library and report.total == big_library


def test_a_probe_result_is_one_row_of_the_index(library):
    """Every field of ProbeResult is a column the scan writes, and packing it for the pipe
    (orjson bytes, pickled) stores the same values as the result probed in this process."""
    import pickle
    from dataclasses import fields

    import orjson

    from lora_manager.library.probe import probe
    from lora_manager.library.records import PROBE_JSON_FIELDS, ProbeResult
    from lora_manager.library.walker import entry_for
    from lora_manager.storage.scan_store import FACT_COLUMNS

    assert {f.name for f in fields(ProbeResult)} == {*FACT_COLUMNS, "search_text"}
    path = write_lora(library / "sub" / "one.safetensors", metadata={"modelspec.trigger_phrase": "a, b"})
    (library / "sub" / "one.preview.png").write_bytes(b"\x89PNG")
    here = probe(entry_for(path, str(library))).as_row()
    there = pickle.loads(pickle.dumps(probe(entry_for(path, str(library))).pack())).as_row()
    assert {k: orjson.loads(v) if k in PROBE_JSON_FIELDS else v for k, v in there.items()} == here
    assert (here["folder"], here["triggers"], here["preview_count"]) == ("sub", ["a", "b"], 1)


def _count_spawns(monkeypatch) -> list[subprocess.Popen]:
    spawned: list[subprocess.Popen] = []
    real = ProbePool._spawn

    def counting(self):
        proc = real(self)
        spawned.append(proc)
        return proc

    monkeypatch.setattr(ProbePool, "_spawn", counting)
    return spawned


def test_a_cold_index_starts_its_workers_during_the_walk_and_uses_them(make_app, library, big_library, monkeypatch):
    from lora_manager.library import walker
    from lora_manager.sync import scanner

    spawned = _count_spawns(monkeypatch)
    walk_done_at: list[int] = []
    real_walk = walker.walk

    def watched_walk(*args, **kwargs):
        result = real_walk(*args, **kwargs)
        walk_done_at.append(len(spawned))
        return result

    monkeypatch.setattr(scanner, "walk", watched_walk)
    app = make_app(library, scan_workers=2)
    report = app.scanner.scan()  # the scan alone (the training tags pass after it starts workers of its own)
    assert report.new == big_library
    assert walk_done_at == [2]  # both started while the walk still ran
    assert len(spawned) == 2  # and the reading used them: no second set
    assert all(p.returncode == 0 for p in spawned)
    (library / "f0" / "lora_0000.safetensors").unlink()
    app.scanner.scan()  # a rescan: nothing to read in workers, none started
    assert len(spawned) == 2


def test_a_small_cold_index_starts_no_workers(make_app, library, monkeypatch):
    spawned = _count_spawns(monkeypatch)
    for i in range(5):
        write_lora(library / f"small_{i}.safetensors", seed=i)
    app = make_app(library, scan_workers=2)
    assert app.scan(hash_after=False).new == 5
    assert spawned == []


def test_workers_started_and_never_used_are_ended():
    pool = ProbePool(2).start()
    procs = list(pool._ready)
    pool.close()
    assert len(procs) == 2 and all(p.returncode == 0 for p in procs)
    pool.close()  # twice is harmless


@pytest.mark.parametrize("folder,root", [
    ("/lib", "/lib"), ("/lib/a/b", "/lib"), ("/lib/a.b/c", "/lib"), ("/library/x", "/lib"), ("/x", "/"),
    ("/lib/.hidden/x", "/lib"), ("/other", "/lib"),
])
def test_folder_relative_to_root_is_relpath(folder, root):
    import os

    from lora_manager.library.probe import _relative

    assert _relative(folder, root) == os.path.relpath(folder, root)


def test_the_last_rows_go_in_as_they_come(make_app, library, big_library):
    """Rows wait for a batch of INSERT_BATCH, except near the end: the workers' last chunks are
    written as each arrives, never all together after the workers have finished."""
    from lora_manager.sync.scanner import CHUNK, INSERT_BATCH

    assert big_library < INSERT_BATCH
    app = make_app(library, scan_workers=2)
    sizes: list[int] = []
    insert = app.scanner.scan_store.insert_files

    def recording(rows):
        sizes.append(len(rows))
        return insert(rows)

    app.scanner.scan_store.insert_files = recording
    assert app.scan(hash_after=False).new == big_library
    assert sum(sizes) == big_library and max(sizes) <= CHUNK


def test_a_worker_that_dies_holding_two_chunks_loses_no_file(make_app, library, big_library, monkeypatch):
    """Each worker is given the next chunk before it answers the last (AHEAD): one that answers once and
    dies with the next in its pipe leaves that chunk to the others or to this process; nothing is read twice."""
    import os

    from lora_manager.library import probe_pool
    from lora_manager.sync.scanner import CHUNK

    assert probe_pool.AHEAD == 2 and big_library > 2 * CHUNK
    once = ("import sys; from lora_manager.library import probe_pool as p; "
            "from lora_manager.library.probe import probe_many; e = p._read(sys.stdin.buffer); "
            "p._write(sys.stdout.buffer, [r.pack() for r in probe_many(e, training=False)]); "
            "p._read(sys.stdin.buffer); sys.exit(3)")
    parent = os.path.dirname(os.path.dirname(os.path.abspath(probe_pool.__file__)))
    given: list[int] = []

    def answering_once(self):
        given.append(1)
        return subprocess.Popen([sys.executable, "-c", once], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                env=os.environ | {"PYTHONPATH": os.path.dirname(parent)})

    monkeypatch.setattr(ProbePool, "_spawn", answering_once)
    app = make_app(library, scan_workers=2)
    report = app.scan(hash_after=False)
    assert given and report.new == big_library and report.total == big_library
    page = app.catalog.list(limit=1000)
    assert page.total == big_library and len({e["path"] for e in page.items}) == big_library


def test_a_worker_that_answers_garbage_and_stalls_does_not_hang_the_pool(monkeypatch, tmp_path):
    """A worker whose answer does not unpickle, then stops reading while alive, holds the next chunk half written
    (one larger than the pipe): the pool gives up on it (WorkerDied, the caller reads the rest itself) instead of
    waiting for it forever."""
    import threading

    from lora_manager.library.walker import FileEntry

    stall = ("import struct, sys, time; i = sys.stdin.buffer; n = struct.unpack('<I', i.read(4))[0]; i.read(n); "
             "sys.stdout.buffer.write(struct.pack('<I', 5) + b'garbg'); sys.stdout.buffer.flush(); time.sleep(120)")
    spawned: list[subprocess.Popen] = []

    def stalling(self):
        spawned.append(subprocess.Popen([sys.executable, "-c", stall], stdin=subprocess.PIPE, stdout=subprocess.PIPE))
        return spawned[-1]

    monkeypatch.setattr(ProbePool, "_spawn", stalling)
    big = tuple(f"companion_{i:05d}_{'x' * 40}.preview.png" for i in range(2000))  # ~110 KB a chunk
    chunks = [[FileEntry(str(tmp_path / f"c{c}_{i}.safetensors"), str(tmp_path), f"c{c}_{i}.safetensors", 1, 1,
                         big if i == 0 else (), 0) for i in range(3)] for c in range(3)]
    outcome: list[object] = []

    def run():
        try:
            outcome.append(list(ProbePool(1).map(chunks)))
        except Exception as exc:  # noqa: BLE001 - what the pool raised is the outcome
            outcome.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(30)
    try:
        assert not t.is_alive(), "the pool waited on a stalled worker"
        assert len(outcome) == 1 and isinstance(outcome[0], WorkerDied)
    finally:
        for p in spawned:
            p.kill()
            p.wait()


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="Unix priorities")
def test_workers_run_after_the_process_that_started_them(library):
    """The scanning process writes every row the workers read (and may be a host generating images):
    the workers take the CPU after it (probe_worker.NICE)."""
    from lora_manager.library.probe_worker import NICE

    write_lora(library / "a.safetensors", seed=1)
    write_lora(library / "b.safetensors", seed=2)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    want = min(19, mine + NICE)
    pool = ProbePool(2).start()
    try:
        pids = [p.pid for p in pool._ready]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(os.getpriority(os.PRIO_PROCESS, pid) != want for pid in pids):
            time.sleep(0.05)
        assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in pids] == [want, want]
        assert os.getpriority(os.PRIO_PROCESS, 0) == mine  # this process keeps its own
        entries = walk([str(library)]).files
        results = [r for chunk in pool.map([entries[:1], entries[1:]]) for r in chunk]
        assert sorted(r.file_name for r in results) == ["a.safetensors", "b.safetensors"]
    finally:
        pool.close()


def test_a_slow_caller_holds_the_workers_answers_back(library, monkeypatch):
    """Answers read from the workers and not yet taken in by the caller are one a worker at most: a caller slower
    than the workers (the training tags pass storing beside the hasher) does not pile their answers up in memory.
    A caller that stops early leaves no worker and no feeding thread behind."""
    import threading

    from lora_manager.library import probe_pool

    for i in range(40):
        write_lora(library / f"s{i:02d}.safetensors", seed=i)
    entries = walk([str(library)]).files
    lock = threading.Lock()
    reads = [0]
    real_read = probe_pool._read

    def counted(stream):
        got = real_read(stream)
        if isinstance(got, list):
            with lock:
                reads[0] += 1
        return got

    monkeypatch.setattr(probe_pool, "_read", counted)
    ahead: list[int] = []
    taken = 0
    for chunk in ProbePool(2).map([[e] for e in entries]):
        taken += 1
        time.sleep(0.03)  # slower than the workers: each reads a small header
        with lock:
            ahead.append(reads[0] - taken)
    assert taken == len(entries) == 40
    assert max(ahead) <= 2  # one answer a worker waiting, never the rest of the library

    before = threading.active_count()
    pool = ProbePool(2)
    procs: list[subprocess.Popen] = []
    spawn = pool._spawn
    monkeypatch.setattr(pool, "_spawn", lambda: procs.append(spawn()) or procs[-1])
    for i, _ in enumerate(pool.map([[e] for e in entries])):
        if i == 2:
            break  # the generator is closed: the rest is given up
    assert len(procs) == 2 and all(p.wait(30) is not None for p in procs)
    deadline = time.monotonic() + 10
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert threading.active_count() == before
