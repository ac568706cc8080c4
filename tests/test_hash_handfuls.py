"""Small files reach the hashing threads in handfuls (one queue hand-over per handful, not per file); a big
file goes alone, and a stop is still heard between two files of a handful."""

from __future__ import annotations

import os

from lora_manager.library.hashing import SPLIT_AT
from lora_manager.sync import hasher as hasher_mod
from lora_manager.sync.hasher import HANDFUL_BYTES, HANDFUL_FILES, _handfuls

from .loras import file_sha256, write_lora
from .page_cache_helpers import cached_pages, make_cold


def _rows(sizes: list[int]) -> list[tuple[int, str, int]]:
    return [(i + 1, f"/lib/{i + 1}.safetensors", size) for i, size in enumerate(sizes)]


def test_small_files_go_in_handfuls_by_count_and_bytes_and_a_big_file_alone():
    rows = _rows([100 << 10] * 70)
    hands = _handfuls(rows)
    assert [len(h) for h in hands] == [HANDFUL_FILES, HANDFUL_FILES, 70 - 2 * HANDFUL_FILES]
    per = HANDFUL_BYTES >> 20  # files of 1 MiB that fill HANDFUL_BYTES
    assert [len(h) for h in _handfuls(_rows([1 << 20] * 20))] == [per, per, 20 - 2 * per]
    mixed = _rows([100 << 10, 100 << 10, SPLIT_AT, 100 << 10, SPLIT_AT * 4, 0, None])
    hands = _handfuls(mixed)
    assert [[r[0] for r in h] for h in hands] == [[1, 2], [3], [4], [5], [6, 7]]  # big ones alone, in their place
    assert [r for h in hands for r in h] == mixed  # every row once, in id order
    assert _handfuls([]) == []


def _open_in(folder) -> list[str]:
    """The files under `folder` this process holds open (Linux: /proc/self/fd)."""
    out = []
    for fd in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            out.append(target)
    return out


def _scanned(app) -> None:
    """A scan, and the training tags pass it wakes, which reads every new file's head: done before a test puts
    files out of the page cache, or that read would bring them back in the middle of the test."""
    app.scan(hash_after=False)
    assert app.scans.training.wait(30)


def test_a_stop_is_heard_between_the_files_of_a_handful(app, library, monkeypatch):
    """...and the rest of the handful, opened ahead, is closed (and the hashed file too)."""
    paths = [write_lora(library / f"s{i}.safetensors", seed=i, rank=128) for i in range(10)]  # one handful
    _scanned(app)
    for p in paths:
        make_cold(p)
    calls: list[str] = []
    real = hasher_mod.hash_file

    def then_stop(path, progress=None, **kw):
        calls.append(path)
        app.hasher._stop.set()  # what stop() does first (stop() itself waits for this thread)
        return real(path, progress, **kw)

    monkeypatch.setattr(hasher_mod, "hash_file", then_stop)
    app.hasher.wake()
    assert app.hasher.wait(30)
    assert len(calls) == 1  # the rest of the handful was left
    assert app.hasher.pending_totals()[0] >= 9
    assert _open_in(library) == []
    monkeypatch.setattr(hasher_mod, "hash_file", real)
    app.hasher.wake()
    assert app.hasher.wait(30)
    assert app.hasher.pending_totals() == (0, 0)
    assert sorted(e["sha256"] for e in app.catalog.list(limit=20).items) == sorted(file_sha256(p) for p in paths)


def test_a_handful_is_asked_of_the_kernel_before_its_first_file_is_hashed(app, library, monkeypatch):
    """Cold small files: the handful's reads are put in flight at once (library/prefetch.py), each file whole;
    a file alone (a big one, or the last) is read as it is hashed."""
    paths = [write_lora(library / f"s{i}.safetensors", seed=i) for i in range(5)]
    _scanned(app)
    for p in paths:
        make_cold(p)
    events: list[tuple] = []
    real_hash = hasher_mod.hash_file
    real_open = hasher_mod.open_ahead

    def open_ahead(files):
        opened = real_open(files)
        events.append(("hint", sorted((p, os.path.getsize(p)) for p, (_, warm, _) in opened.items() if not warm)))
        return opened

    monkeypatch.setattr(hasher_mod, "open_ahead", open_ahead)
    monkeypatch.setattr(hasher_mod, "hash_file", lambda path, progress=None, **kw: (
        events.append(("hash", path)), real_hash(path, progress, **kw))[1])
    app.hasher.wake()
    assert app.hasher.wait(30)
    assert events[0] == ("hint", sorted((p, os.path.getsize(p)) for p in paths))
    assert sorted(p for kind, p in events[1:]) == sorted(paths) and all(k == "hash" for k, _ in events[1:])
    assert sorted(e["sha256"] for e in app.catalog.list(limit=20).items) == sorted(file_sha256(p) for p in paths)

    assert _handfuls(_rows([SPLIT_AT])) == [[(1, "/lib/1.safetensors", SPLIT_AT)]]  # alone: hashed unhinted
    events.clear()
    write_lora(library / "one.safetensors", seed=99)
    app.scan(hash_after=False)
    app.hasher.wake()
    assert app.hasher.wait(30)
    assert [k for k, _ in events] == ["hash"]


def test_the_hasher_leaves_the_page_cache_as_it_found_it(app, library, monkeypatch):
    """Files whose pages were all cached (the host had just loaded them) are neither asked for nor dropped;
    those read from the disk are asked for as a handful and dropped once hashed; a file hashed alone too."""
    paths = [write_lora(library / f"c{i}.safetensors", seed=i, rank=128) for i in range(6)]
    _scanned(app)
    cold, warm = paths[:3], paths[3:]
    for p in paths:
        make_cold(p)
    for p in warm:
        open(p, "rb").read()
    full = {p: cached_pages(p) for p in warm}
    before = {os.path.basename(p): cached_pages(p) for p in paths}  # what the hasher is about to find
    hinted: list[str] = []
    probed: dict[str, bool] = {}  # every file opened ahead, and whether it was found cached
    real = hasher_mod.open_ahead

    def open_ahead(files):
        opened = real(files)
        hinted.extend(p for p, (_, warm, _) in opened.items() if not warm)
        probed.update((os.path.basename(p), warm) for p, (_, warm, _) in opened.items())
        return opened

    monkeypatch.setattr(hasher_mod, "open_ahead", open_ahead)
    app.hasher.wake()
    assert app.hasher.wait(30)
    assert sorted(hinted) == sorted(cold), (probed, before)
    assert _open_in(library) == []  # each file opened ahead is hashed from that descriptor, and closed
    assert [cached_pages(p) for p in cold] == [0, 0, 0]
    # Left as found: a drop (DONTNEED over the whole file) would leave none of its clean pages. The kernel may
    # reclaim the odd page of any file meanwhile (a full suite saw one of 117 go), so not to the page.
    assert all(cached_pages(p) >= 0.95 * full[p] > 0 for p in warm), ({p: cached_pages(p) for p in warm}, full)
    assert sorted(e["sha256"] for e in app.catalog.list(limit=20).items) == sorted(file_sha256(p) for p in paths)

    alone = {}
    for name, seed in (("cold", 90), ("warm", 91)):
        alone[name] = write_lora(library / f"alone-{name}.safetensors", seed=seed, rank=128)
        _scanned(app)
        make_cold(alone[name])
        if name == "warm":
            open(alone[name], "rb").read()
        app.hasher.wake()
        assert app.hasher.wait(30)
        # Looked at once hashed: what a later scan reads of the file is not the hasher's.
        pages = cached_pages(alone[name])
        assert pages == 0 if name == "cold" else pages > 0, (name, pages)
    assert app.hasher.pending_totals() == (0, 0)


def test_a_file_put_in_its_place_while_hashed_gets_no_hash_of_the_file_before(app, library, monkeypatch):
    """A file replaced (renamed over) while its handful is hashed, by one of the same size and mtime (`cp -p`,
    rsync): the hash read is of the file before, and is not stored for the one there now."""
    paths = [write_lora(library / f"r{i}.safetensors", seed=i, rank=128) for i in range(3)]
    app.scan(hash_after=False)
    target, before = paths[1], file_sha256(paths[1])
    real = hasher_mod.hash_file

    def then_replace(path, progress=None, **kw):
        h = real(path, progress, **kw)
        if path == target and h.sha256 == before:
            st = os.stat(path)
            data = bytearray(open(path, "rb").read())
            data[-1] ^= 0xFF  # another tensor byte: another file, same size
            with open(path + ".new", "wb") as f:
                f.write(data)
            os.utime(path + ".new", ns=(st.st_atime_ns, st.st_mtime_ns))
            os.replace(path + ".new", path)
        return h

    monkeypatch.setattr(hasher_mod, "hash_file", then_replace)
    app.hasher.wake()
    assert app.hasher.wait(30)
    stored = {e["path"]: e["sha256"] for e in app.catalog.list(limit=20).items}
    assert file_sha256(target) != before
    assert stored[target] in (None, file_sha256(target))
    assert stored[paths[0]] == file_sha256(paths[0]) and stored[paths[2]] == file_sha256(paths[2])


def test_a_file_gone_from_a_handful_is_its_own_error_and_the_rest_are_hashed(app, library):
    """A handful's results come back as one list (sync/hasher.py): a file that vanished after the scan is recorded
    as its own error, and every other file of the same handful gets its hash."""
    paths = [write_lora(library / f"g{i}.safetensors", seed=i) for i in range(5)]  # one handful
    _scanned(app)
    os.remove(paths[2])
    app.hasher.wake()
    assert app.hasher.wait(30)
    for i, p in enumerate(paths):
        e = app.catalog.get(f"g{i}")
        if i == 2:
            assert e["hash_state"] == "error" and "cannot read" in e["hash_error"] and e["sha256"] is None
        else:
            assert e["sha256"] == file_sha256(p) and not e["hash_error"]
    assert app.hasher.status()["failed"] == 1 and app.hasher.status()["done_files"] == 5
