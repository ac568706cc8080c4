"""Cold scans read headers in worker subprocesses; a dead worker costs speed, never entries."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lora_manager.library.probe_pool import ProbePool
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
