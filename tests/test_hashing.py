"""All hashes in one read, checked against plain hashlib on real files."""

from __future__ import annotations

import hashlib
import os

import pytest

from lora_manager.library import hashing
from lora_manager.library.hashing import EMPTY_SHA256, hash_file

from .conftest import scan
from .loras import file_sha256, tensor_sha256, write_lora
from .page_cache_helpers import cached_pages, make_cold


def _safetensors_with_data(path, header_pad: int, data_len: int) -> None:
    header = b'{"t":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}' % (data_len, data_len)
    header += b" " * header_pad
    with open(path, "wb") as f:
        f.write(len(header).to_bytes(8, "little") + header + os.urandom(data_len))


@pytest.mark.parametrize("split_at", [hashing.SPLIT_AT, 0], ids=["one-thread", "tensor-thread"])
@pytest.mark.parametrize("pad,data_len", [(0, 10), (hashing.CHUNK, 5), (hashing.CHUNK - 60, 3 * hashing.CHUNK + 7),
                                          (5, 0x110000 + 1)])
def test_hashes_match_hashlib_across_chunk_boundaries(tmp_path, pad, data_len, split_at):
    path = tmp_path / "x.safetensors"
    _safetensors_with_data(path, pad, data_len)
    h = hash_file(str(path), split_at=split_at)
    raw = path.read_bytes()
    assert h.sha256 == hashlib.sha256(raw).hexdigest() == file_sha256(path)
    assert h.tensor_sha256 == tensor_sha256(path)
    if len(raw) >= 0x110000:
        assert h.legacy == hashlib.sha256(raw[0x100000:0x110000]).hexdigest()[:8]
    else:
        assert h.legacy is None
    assert h.autov2 == h.sha256[:10] and h.autov3 == h.tensor_sha256[:12]


@pytest.mark.parametrize("split_at", [hashing.SPLIT_AT, 0])
def test_non_safetensors_gets_only_the_full_hash(tmp_path, split_at):
    path = tmp_path / "x.pt"
    path.write_bytes(b"PK\x03\x04" + os.urandom(3 * hashing.CHUNK))
    h = hash_file(str(path), split_at=split_at)
    assert h.sha256 == file_sha256(path) and h.tensor_sha256 is None


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise on this platform")
@pytest.mark.parametrize("evict", [True, False])
def test_hashed_file_leaves_the_page_cache(tmp_path, evict):
    path = tmp_path / "x.safetensors"
    _safetensors_with_data(path, 0, 4 * hashing.CHUNK)
    with open(path, "rb+") as f:
        os.fsync(f.fileno())  # clean pages: only those can be dropped
    hash_file(str(path))  # every page read once: resident
    hash_file(str(path), evict=evict)
    resident = cached_pages(path)
    assert (resident == 0) if evict else (resident > 0)


@pytest.mark.skipif(hashing.NOWAIT is None or not hasattr(os, "posix_fadvise"), reason="RWF_NOWAIT: Linux")
def test_a_file_found_cached_is_left_cached_and_one_read_from_the_disk_is_dropped(tmp_path):
    """By default the page cache is left as it was found: a file the system had cached (the host just loaded
    it) stays cached; one the hashing read from the disk, or whose head alone was cached (a scan reads every
    head), leaves it, and so does a file no longer than a scan's head, cached or not (the scan cached it)."""
    warm, cold, head, small = (tmp_path / f"{n}.safetensors" for n in ("warm", "cold", "head", "small"))
    for p in (warm, cold, head, small):
        _safetensors_with_data(p, 0, 3 * hashing.CHUNK if p != small else hashing.HEAD_BYTES - 200)
        make_cold(p)
    warm.read_bytes()
    small.read_bytes()
    with open(head, "rb") as f:
        f.read(64 << 10)
    pages = cached_pages(warm)
    assert pages == -(-os.path.getsize(warm) // os.sysconf("SC_PAGE_SIZE")) and cached_pages(small) > 0
    hashes = {p: hash_file(str(p)) for p in (warm, cold, head, small)}
    assert cached_pages(warm) == pages
    assert cached_pages(cold) == 0 and cached_pages(head) == 0 and cached_pages(small) == 0
    assert all(h.sha256 == file_sha256(p) for p, h in hashes.items())


def test_where_the_cache_cannot_be_asked_every_file_is_taken_as_read_from_the_disk(tmp_path, monkeypatch):
    path = tmp_path / "x.safetensors"
    _safetensors_with_data(path, 0, 2 * hashing.CHUNK)
    make_cold(path)  # (skips where pages cannot be dropped)
    path.read_bytes()
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        assert hashing.cached(f.fileno(), size) is (hashing.NOWAIT is not None)
        assert hashing.cached(f.fileno(), 0) is False  # an empty file has no page to ask about
        monkeypatch.setattr(hashing, "NOWAIT", None)
        assert hashing.cached(f.fileno(), size) is False
    if hasattr(os, "posix_fadvise"):
        hash_file(str(path))
        assert cached_pages(path) == 0


def test_empty_tensor_data_is_never_a_hash(tmp_path):
    path = tmp_path / "x.safetensors"
    header = b'{"__metadata__":{"a":"b"}}'
    path.write_bytes(len(header).to_bytes(8, "little") + header)
    h = hash_file(str(path))
    assert h.tensor_sha256 is None and h.sha256 != EMPTY_SHA256


def test_progress_counts_every_byte(tmp_path):
    path = tmp_path / "x.safetensors"
    _safetensors_with_data(path, 0, 3 * hashing.CHUNK)
    seen = []
    hash_file(str(path), seen.append)
    assert sum(seen) == os.path.getsize(path)


@pytest.mark.skipif(not hasattr(os, "readv"), reason="descriptors are opened ahead on POSIX only")
def test_a_descriptor_opened_ahead_is_hashed_as_the_file_was_when_opened_and_closed(tmp_path):
    """The hasher's handful is opened ahead (library/prefetch.py): the file is read from that descriptor up to the
    size its fstat gave, and the descriptor is closed. Bytes that arrive after are not hashed (the hasher's stat
    after the read tells it the file moved); a file cut short since ends the read early."""
    path = tmp_path / "x.safetensors"
    _safetensors_with_data(path, 3, 2 * hashing.CHUNK + 11)
    before = path.read_bytes()
    fd = os.open(path, os.O_RDONLY)
    st = os.fstat(fd)
    with open(path, "ab") as f:  # a download still arriving
        f.write(os.urandom(5000))
    h = hash_file(str(path), evict=False, fd=fd, st=st)
    assert (h.sha256, h.size, h.file_id) == (hashlib.sha256(before).hexdigest(), len(before), (st.st_dev, st.st_ino))
    with pytest.raises(OSError):
        os.fstat(fd)  # closed
    fd = os.open(path, os.O_RDONLY)
    st = os.fstat(fd)
    os.truncate(path, 100)
    h = hash_file(str(path), evict=False, fd=fd, st=st)
    assert h.size == st.st_size and h.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert hash_file(str(path)).size == 100  # by its path: opened and looked at here


def test_file_vanishing_before_hashing_is_recorded(app, library):
    path = write_lora(library / "v.safetensors")
    app.scan(hash_after=False)
    os.remove(path)
    app.hasher.wake()
    app.hasher.wait()
    e = app.catalog.get("v")
    assert e["hash_state"] == "error" and "cannot read" in e["hash_error"]
    report = scan(app)
    assert report.missing == 1


def test_hash_status_reports_progress(app, library):
    for i in range(3):
        write_lora(library / f"p{i}.safetensors", seed=i)
    scan(app)
    st = app.hasher.status()
    assert st["done_files"] == 3 and st["done_bytes"] == sum(
        os.path.getsize(library / f"p{i}.safetensors") for i in range(3)
    )
    assert app.hasher.pending_totals() == (0, 0)


def _rewrite(path, seed: int) -> None:
    """Replace a LoRA in place with other content (size and mtime change too)."""
    st = os.stat(path)
    write_lora(path, seed=seed, rank=8)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


def test_file_changed_after_the_walk_is_reprobed_and_hashed_once(app, library):
    path = write_lora(library / "c.safetensors")
    app.scan(hash_after=False)
    _rewrite(path, seed=7)  # changed after the walk: the row still has the walk's size and mtime
    app.hasher.wake()
    assert app.hasher.wait(20), "the hasher kept re-asking for a row it could not store"
    e = app.catalog.get("c")
    assert e["hash_state"] == "done" and e["sha256"] == file_sha256(path) and e["size"] == os.path.getsize(path)
    assert e["rank"] == 8  # re-probed: the facts are the new file's
    assert app.hasher.done_files == 1


def test_file_growing_while_hashed_is_not_asked_again_until_it_is_stable(app, library, monkeypatch):
    """A download in progress: every read sees a different file. It is not hashed from a
    moving target, not re-asked in a loop, and hashed once it stops changing."""
    from lora_manager.sync import hasher as hasher_mod

    path = write_lora(library / "d.safetensors")
    app.scan(hash_after=False)
    calls = []
    real = hasher_mod.hash_file

    def growing(p, progress=None, **kw):
        h = real(p, progress, **kw)
        calls.append(p)
        with open(p, "ab") as f:  # more bytes arrive while we read
            f.write(b"\0" * 1000)
        return h

    monkeypatch.setattr(hasher_mod, "hash_file", growing)
    app.hasher.wake()
    assert app.hasher.wait(20), "the hasher kept re-asking for a file that is still changing"
    assert len(calls) <= 2
    e = app.catalog.get("d")
    assert e["hash_state"] == "pending" and e["sha256"] is None
    monkeypatch.setattr(hasher_mod, "hash_file", real)  # the download is complete
    scan(app)
    e = app.catalog.get("d")
    assert e["hash_state"] == "done" and e["sha256"] == file_sha256(path) and e["size"] == os.path.getsize(path)
