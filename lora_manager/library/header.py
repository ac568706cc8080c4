"""Read a safetensors header without touching tensor data.

Layout: 8-byte little-endian N, then N bytes of JSON, then tensor bytes.
Only the first 8 + N bytes are ever read.
"""

from __future__ import annotations

import hashlib
import os
import struct

import orjson

from ..errors import BrokenFile
from .records import Header

# A real LoRA header is 30-100 KB (dominated by ss_tag_frequency). Anything
# near this cap is hostile or corrupt; refusing it bounds memory per file.
MAX_HEADER_BYTES = 100 * 1024 * 1024


def read_header(path: str, size: int | None = None) -> Header:
    """Parse the header of `path`; raise BrokenFile with a clear reason."""
    try:
        with open(path, "rb", buffering=0) as f:
            if size is None:
                size = os.fstat(f.fileno()).st_size
            prefix = f.read(8)
            if len(prefix) < 8:
                raise BrokenFile(f"file too short for a safetensors header ({size} bytes)")
            (length,) = struct.unpack("<Q", prefix)
            if length == 0:
                raise BrokenFile("header length is 0")
            if length > MAX_HEADER_BYTES:
                raise BrokenFile(f"header length {length} is absurd (limit {MAX_HEADER_BYTES} bytes)")
            if 8 + length > size:
                raise BrokenFile(f"header length {length} runs past the end of the file ({size} bytes): truncated or not safetensors")
            raw = f.read(length)
    except OSError as exc:
        raise BrokenFile(f"cannot read file: {exc.strerror or exc}") from exc
    if len(raw) != length:
        raise BrokenFile("file changed or was truncated while reading the header")
    return parse_header_bytes(raw, size)


def parse_header_bytes(raw: bytes, size: int) -> Header:
    """Decode the JSON header; validate just enough to trust names and shapes."""
    if raw[:1] != b"{":
        raise BrokenFile("header is not a JSON object: not a safetensors file")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BrokenFile(f"header is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise BrokenFile("header is not a JSON object")
    data_len = size - 8 - len(raw)
    meta_raw = doc.pop("__metadata__", None)
    metadata: dict[str, str] = {}
    if isinstance(meta_raw, dict):
        # The format says values are strings; some writers store numbers or
        # nested JSON. Coerce so readers downstream see one type.
        for key, value in meta_raw.items():
            if isinstance(value, str):
                metadata[str(key)] = value
            elif value is not None:
                metadata[str(key)] = orjson.dumps(value).decode()
    elif meta_raw is not None:
        raise BrokenFile("__metadata__ is not an object")
    tensors: dict[str, list[int]] = {}
    for name, info in doc.items():
        if not isinstance(info, dict):
            raise BrokenFile(f"tensor entry {name[:80]!r} is not an object")
        shape = info.get("shape")
        offsets = info.get("data_offsets")
        if not isinstance(shape, list) or not isinstance(offsets, list) or len(offsets) != 2:
            raise BrokenFile(f"tensor entry {name[:80]!r} lacks shape or data_offsets")
        end = offsets[1]
        if not isinstance(end, int) or end > data_len or not isinstance(offsets[0], int) or offsets[0] > end:
            raise BrokenFile(f"tensor {name[:80]!r} points past the end of the file: truncated")
        tensors[name] = shape
    return Header(length=len(raw), metadata=metadata, tensors=tensors, digest=hashlib.sha256(raw).hexdigest())
