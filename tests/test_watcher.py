"""The watcher starts a scan when a known file changes in place (no folder changes), by polling
(network shares, or events off) and by file-system events (local folders)."""

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


def _watch(root, is_scanning=lambda: False, events=False):
    calls: list[str] = []
    w = Watcher([str(root)], calls.append, is_scanning, interval=0.05, events=events)
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


def test_events_see_a_file_changed_in_place_without_walking_the_library(tmp_path):
    root = tmp_path / "lib"
    path = write_lora(root / "deep" / "a.safetensors")
    other = write_lora(tmp_path / "other" / "b.safetensors", seed=3, rank=8)
    w, calls = _watch(root, events=True)
    try:
        wait_for(lambda: w.events is not None and w.polled == [], timeout=20)  # the root is watched, not polled
        _write_in_place(path, other)
        wait_for(lambda: calls, timeout=20)
        assert calls == ["watch"]
        assert w.file_checks == 0  # no file of the library was stat'ed by the watcher
    finally:
        w.stop()


def test_events_see_new_and_removed_files_and_skip_hidden_folders_and_data(tmp_path):
    root = tmp_path / "lib"
    write_lora(root / "a.safetensors")
    data = root / "data"  # the data folder may sit inside a root; its writes are ours
    data.mkdir()
    calls: list[str] = []
    w = Watcher([str(root)], calls.append, lambda: False, interval=0.05, skip={str(data)}, events=True)
    w.start()
    try:
        wait_for(lambda: w.events is not None and w.polled == [], timeout=20)
        (data / "library.db-journal").write_bytes(b"x")
        (root / ".cache").mkdir()
        (root / ".cache" / "t.safetensors").write_bytes(b"x")
        seen = w.events.seen
        assert seen == 0 and calls == []
        write_lora(root / "new" / "b.safetensors", seed=5)
        wait_for(lambda: calls == ["watch"], timeout=20)
        os.remove(root / "a.safetensors")
        wait_for(lambda: calls == ["watch", "watch"], timeout=20)
    finally:
        w.stop()


def test_network_and_fuse_mounts_are_polled(tmp_path):
    from lora_manager.sync import fsevents

    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/vda1 / ext4 rw 0 0\n"
                      "server:/export /mnt/nas nfs4 rw 0 0\n"
                      "share /mnt/my\\040drive fuse.sshfs rw 0 0\n")
    assert fsevents.fs_type("/srv/loras", str(mounts)) == "ext4"
    assert fsevents.fs_type("/mnt/nas/loras", str(mounts)) == "nfs4"
    assert fsevents.fs_type("/mnt/my drive/x", str(mounts)) == "fuse.sshfs"
    assert fsevents.fs_type("/mnt/nasty", str(mounts)) == "ext4"  # a prefix of a name is not a mount point
    assert fsevents.gives_events(str(tmp_path))  # this machine's temporary folder is local


def test_a_root_that_cannot_be_watched_is_polled(tmp_path, monkeypatch):
    """inotify's per-user watch limit (ENOSPC) leaves the root to polling, with the same result."""
    import errno

    from watchdog.observers.api import BaseObserver

    def full(self):
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(BaseObserver, "start", full)
    root = tmp_path / "lib"
    path = write_lora(root / "a.safetensors")
    other = write_lora(tmp_path / "other" / "b.safetensors", seed=3, rank=8)
    w, calls = _watch(root, events=True)
    try:
        wait_for(lambda: w.file_checks >= 1, timeout=20)
        assert w.polled == [str(root)]
        _write_in_place(path, other)
        wait_for(lambda: calls, timeout=20)
    finally:
        w.stop()
