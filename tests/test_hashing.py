"""All hashes in one read, checked against plain hashlib on real files."""

from __future__ import annotations

import hashlib
import os

import pytest

from lora_manager.library import hashing
from lora_manager.library.hashing import EMPTY_SHA256, hash_file

from .conftest import scan
from .loras import file_sha256, tensor_sha256, write_lora


def _safetensors_with_data(path, header_pad: int, data_len: int) -> None:
    header = b'{"t":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}' % (data_len, data_len)
    header += b" " * header_pad
    with open(path, "wb") as f:
        f.write(len(header).to_bytes(8, "little") + header + os.urandom(data_len))


@pytest.mark.parametrize("pad,data_len", [(0, 10), (hashing.CHUNK, 5), (hashing.CHUNK - 60, 3 * hashing.CHUNK + 7), (5, 0x110000 + 1)])
def test_hashes_match_hashlib_across_chunk_boundaries(tmp_path, pad, data_len):
    path = tmp_path / "x.safetensors"
    _safetensors_with_data(path, pad, data_len)
    h = hash_file(str(path))
    raw = path.read_bytes()
    assert h.sha256 == hashlib.sha256(raw).hexdigest() == file_sha256(path)
    assert h.tensor_sha256 == tensor_sha256(path)
    if len(raw) >= 0x110000:
        assert h.legacy == hashlib.sha256(raw[0x100000:0x110000]).hexdigest()[:8]
    else:
        assert h.legacy is None
    assert h.autov2 == h.sha256[:10] and h.autov3 == h.tensor_sha256[:12]


def test_non_safetensors_gets_only_the_full_hash(tmp_path):
    path = tmp_path / "x.pt"
    path.write_bytes(b"PK\x03\x04" + os.urandom(100))
    h = hash_file(str(path))
    assert h.sha256 == file_sha256(path) and h.tensor_sha256 is None


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
    assert st["done_files"] == 3 and st["done_bytes"] == sum(os.path.getsize(library / f"p{i}.safetensors") for i in range(3))
    assert app.repo.pending_hash_totals() == (0, 0)
