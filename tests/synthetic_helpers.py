"""Readers the synthetic-library tests check generated files with."""

from __future__ import annotations

import os
import struct

import orjson

from lora_manager.demo import library as syn


def read_header(path: str) -> tuple[int, dict, bytes]:
    """(N, parsed header, raw file bytes) of a safetensors file, checked like a strict reader."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert 8 + n <= len(raw), path
    return n, orjson.loads(raw[8:8 + n]), raw


def check_layout(path: str) -> tuple[dict, bytes, bytes]:
    """Header padded to 8 with spaces, offsets contiguous and ending at the file's end."""
    n, header, raw = read_header(path)
    assert n % 8 == 0
    text = raw[8:8 + n]
    assert text.rstrip(b" ").endswith(b"}") and set(text[len(text.rstrip(b" ")):]) <= {0x20}
    metadata = header.pop("__metadata__", None)
    data = raw[8 + n:]
    spans = sorted(tuple(e["data_offsets"]) for e in header.values())
    pos = 0
    for start, end in spans:
        assert start == pos
        pos = end
    assert pos == len(data)
    for e in header.values():
        assert e["data_offsets"][1] - e["data_offsets"][0] == syn.DTYPE_SIZES[e["dtype"]] * _prod(e["shape"])
    return metadata, data, raw


def _prod(shape):
    out = 1
    for d in shape:
        out *= d
    return out


def walk(root: str) -> dict[str, str]:
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            out[os.path.relpath(path, root).replace(os.sep, "/")] = path
    return out
