"""A batch of files to probe is handed to the kernel first (library/prefetch.py): every head and sidecar the
probe reads is asked for, nothing else, odd files are skipped quietly, and the hint does fill the page cache.
The hasher's handful is asked for whole, but for the files already cached."""

from __future__ import annotations

import mmap
import os
import sys
import threading
import time

import pytest

from lora_manager.library import hashing, prefetch, probe as probe_module, sidecars as sidecars_module
from lora_manager.library import training_tags as training_module
from lora_manager.library.prefetch import HEAD_BYTES, open_ahead, probe_spans, will_read
from lora_manager.library.probe import probe_many
from lora_manager.library.sidecar_values import MAX_SIDECAR_BYTES, SIDECAR_SUFFIXES
from lora_manager.library.walker import walk

from .loras import write_lora
from .page_cache_helpers import cached_pages, make_cold, resident_pages

HINTS = hasattr(os, "posix_fadvise") and sys.platform.startswith("linux")


def _library(root):
    """LoRAs with every sidecar kind, previews, a pickle, an empty file and a bare LoRA."""
    folder = root / "styles"
    for i in range(3):
        base = f"lora_{i}"
        write_lora(folder / f"{base}.safetensors", seed=i, metadata={"ss_tag_frequency": '{"a": {"x": 1}}'})
        for suffix in SIDECAR_SUFFIXES[i::3]:
            (folder / f"{base}{suffix}").write_text('{"name": "x"}' if "json" in suffix or "info" in suffix else "w")
        (folder / f"{base}.preview.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    write_lora(folder / "bare.safetensors", seed=9)
    (folder / "old.pt").write_bytes(b"\x80\x02" + b"\0" * 100)
    (folder / "old.json").write_text("{}")
    (folder / "empty.safetensors").write_bytes(b"")
    return sorted(walk([str(root)]).files, key=lambda e: e.path)


def test_a_batch_asks_for_every_head_and_sidecar_the_probe_reads_and_nothing_else(tmp_path, monkeypatch):
    entries = _library(tmp_path)
    read: list[str] = []
    real_header, real_bytes = probe_module.read_header, sidecars_module._read_bytes

    def header(path, size=None):
        read.append(path)
        return real_header(path, size)

    def sidecar(path):
        read.append(path)
        return real_bytes(path)

    monkeypatch.setattr(probe_module, "read_header", header)
    monkeypatch.setattr(sidecars_module, "_read_bytes", sidecar)
    probe_many(entries)
    spans = list(probe_spans(entries))
    assert sorted(p for p, _ in spans) == sorted(read)
    sidecar_names = {p for p in read if not p.endswith(".safetensors")}
    assert len(sidecar_names) == len(SIDECAR_SUFFIXES) + 1  # every kind once, and the pickle's own json
    by_path = {e.path: e for e in entries}
    for path, length in spans:
        if path in by_path:  # a LoRA: its head, never more than the file
            assert length == min(by_path[path].size, HEAD_BYTES) and length > 0
        else:
            assert length == MAX_SIDECAR_BYTES  # a sidecar is read whole, up to the reader's own limit
    assert not any(p.endswith((".png", ".pt", "empty.safetensors")) for p, _ in spans)


def test_probe_many_hands_the_batch_over_before_its_first_read(tmp_path, monkeypatch):
    entries = _library(tmp_path)
    events: list[tuple[str, object]] = []
    real_header = probe_module.read_header
    monkeypatch.setattr(probe_module, "will_read", lambda spans: events.append(("hint", [p for p, _ in spans])))

    def header(path, size=None):
        events.append(("read", path))
        return real_header(path, size)

    monkeypatch.setattr(probe_module, "read_header", header)
    probe_many(entries)
    assert events[0][0] == "hint" and [k for k, _ in events].count("hint") == 1
    hinted = set(events[0][1])
    assert {p for k, p in events[1:]} <= hinted and len(events) > 2
    events.clear()
    probe_many(entries[:1])  # one file alone: nothing to overlap, no hint
    assert [k for k, _ in events] == ["read"]


def test_the_training_pass_hands_its_heads_over_first(tmp_path, monkeypatch):
    entries = [e for e in _library(tmp_path) if e.name.endswith(".safetensors") and e.size]
    events: list[tuple[str, object]] = []
    monkeypatch.setattr(training_module, "will_read", lambda spans: events.append(("hint", list(spans))))
    real = training_module.read_left_out_safely
    monkeypatch.setattr(training_module, "read_left_out_safely",
                        lambda path, size, digest: events.append(("read", path)) or real(path, size, digest))
    items = [(i, e.path, e.size, None) for i, e in enumerate(entries)]
    got = training_module.read_left_out_many(items)
    assert [lid for lid, _ in got] == list(range(len(entries)))
    assert got == [(i, real(e.path, e.size, None)) for i, e in enumerate(entries)]  # read as one by one
    first = next(i for i, e in enumerate(entries) if e.name == "lora_0.safetensors")
    assert got[first][1][0] == [["x", 1]]  # and what was read is the header's: its training tags
    assert events[0] == ("hint", [(e.path, min(e.size, HEAD_BYTES)) for e in entries])
    assert [p for k, p in events[1:]] == [e.path for e in entries]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_odd_files_are_skipped_without_a_word_or_a_wait(tmp_path):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    (tmp_path / "dir.json").mkdir()
    plain = tmp_path / "plain.safetensors"
    plain.write_bytes(b"x" * 1000)
    spans = [(str(fifo), HEAD_BYTES), (str(tmp_path / "gone.safetensors"), HEAD_BYTES),
             (str(tmp_path / "dir.json"), MAX_SIDECAR_BYTES), (str(plain), 1000), ("", 10), ("bad\0name", 10)]
    errors: list[BaseException] = []

    def run():
        try:
            will_read(spans)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "a FIFO blocked the hint"
    assert errors == []


@pytest.mark.skipif(not HINTS, reason="posix_fadvise and mincore: Linux")
def test_the_hint_brings_the_files_into_the_page_cache(tmp_path):
    paths = []
    for i in range(12):
        p = tmp_path / f"f{i}.safetensors"
        p.write_bytes(os.urandom(200_000))
        paths.append(str(p))
    for p in paths:
        make_cold(p)  # (skips where the file system keeps its files in memory: nothing to bring in)
    *paths, left = paths
    will_read([(p, HEAD_BYTES) for p in paths] + [(left, 0)])  # a length of 0 asks for nothing
    want = -(-HEAD_BYTES // mmap.PAGESIZE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the hint starts the reads; they finish a little later
        if all(cached_pages(p) >= want for p in paths):
            break
        time.sleep(0.05)
    assert all(cached_pages(p) >= want for p in paths)
    assert cached_pages(left) == 0  # to the kernel, 0 would have meant the whole file
    assert prefetch.HEAD_BYTES == HEAD_BYTES


@pytest.mark.skipif(not HINTS or hashing.NOWAIT is None, reason="posix_fadvise, RWF_NOWAIT and mincore: Linux")
def test_a_handful_is_opened_once_and_only_what_is_not_cached_is_asked_for(tmp_path, monkeypatch):
    """The hasher's handful: each file opened once (it is hashed from that descriptor); the files whose pages
    are all cached are said to be and not asked for, the others are asked for whole."""
    paths = []
    for i in range(8):
        p = tmp_path / f"h{i}.safetensors"
        p.write_bytes(os.urandom(300_000))
        make_cold(p)  # (skips where the file system keeps its files in memory)
        paths.append(str(p))
    warm, cold = paths[:3], paths[3:]
    for p in warm:
        open(p, "rb").read()
    calls: list[tuple[str, int]] = []
    real_cached, real_advise = prefetch.cached, prefetch.advise
    monkeypatch.setattr(prefetch, "cached", lambda fd, size: calls.append(("asked", fd)) or real_cached(fd, size))
    monkeypatch.setattr(prefetch, "advise", lambda fd, *a: calls.append(("hinted", fd)) or real_advise(fd, *a))
    (tmp_path / "folder.safetensors").mkdir()
    os.mkfifo(tmp_path / "fifo.safetensors")
    odd = [(str(tmp_path / n), 10) for n in ("gone.safetensors", "folder.safetensors", "fifo.safetensors")]
    opened = open_ahead([(p, os.path.getsize(p)) for p in paths] + odd)
    try:
        assert sorted(opened) == sorted(paths)  # what does not open, or is no regular file, is left to its hashing
        assert {p for p, (_, was, _) in opened.items() if was} == set(warm)
        assert all(os.fstat(fd).st_ino == os.stat(p).st_ino for p, (fd, _, _) in opened.items())
        for p in cold:  # asked before it is hinted: after the hint it would look cached
            fd = opened[p][0]
            assert [c for c in calls if c[1] == fd] == [("asked", fd), ("hinted", fd)]
        assert not any(c == ("hinted", opened[p][0]) for p in warm for c in calls)
    finally:
        for fd, _, _ in opened.values():
            os.close(fd)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(n == total for n, total in map(resident_pages, cold)):
        time.sleep(0.05)
    assert all(n == total for n, total in map(resident_pages, cold))
