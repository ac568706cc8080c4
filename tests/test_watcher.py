"""The watcher starts a scan when a known file changes in place (no folder changes)."""

from __future__ import annotations

import os
import threading

from lora_manager.sync.watcher import Watcher

from .browser import wait_for
from .loras import write_lora


def _write_in_place(path, other) -> None:
    """Overwrite `path` with the bytes of `other`: same inode, so its folder does not change."""
    with open(other, "rb") as src, open(path, "r+b") as dst:
        dst.write(src.read())
        dst.truncate()
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


def _watch(root, is_scanning=lambda: False):
    calls: list[str] = []
    w = Watcher([str(root)], calls.append, is_scanning, interval=0.05)
    w.start()
    return w, calls


def test_file_changed_in_place_starts_a_scan(tmp_path):
    root = tmp_path / "lib"
    path = write_lora(root / "a.safetensors")
    other = write_lora(tmp_path / "other" / "b.safetensors", seed=3, rank=8)
    folder_mtime = os.stat(root).st_mtime_ns
    w, calls = _watch(root)
    try:
        wait_for(lambda: w.file_checks >= 1, timeout=20)  # the watcher has seen the library as it was
        _write_in_place(path, other)
        assert os.stat(root).st_mtime_ns == folder_mtime  # nothing but the file itself changed
        wait_for(lambda: calls, timeout=20)
        assert calls == ["watch"]
    finally:
        w.stop()


def test_change_seen_while_a_scan_runs_starts_one_after_it(tmp_path):
    root = tmp_path / "lib"
    path = write_lora(root / "a.safetensors")
    other = write_lora(tmp_path / "other" / "b.safetensors", seed=3, rank=8)
    busy = threading.Event()
    busy.set()
    w, calls = _watch(root, busy.is_set)
    try:
        wait_for(lambda: w.file_checks >= 1, timeout=20)
        _write_in_place(path, other)
        seen = w.file_checks
        wait_for(lambda: w.file_checks >= seen + 2, timeout=20)  # the change was seen, with a scan running
        assert calls == []
        busy.clear()  # the running scan ends; the change was not forgotten
        wait_for(lambda: calls, timeout=20)
    finally:
        w.stop()
