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
                raise BrokenFile(
                    f"header length {length} runs past the end of the file ({size} bytes): truncated or not safetensors"
                )
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
    # One comprehension per check: this runs for ~300 tensors in every file of
    # a cold scan, and a per-entry Python loop with isinstance() costs more
    # than the JSON parse itself.
    try:
        tensors = {name: info["shape"] for name, info in doc.items()}
        ends = [info["data_offsets"][1] for info in doc.values()]
        furthest = max(ends, default=0)
    except (TypeError, KeyError, IndexError):
        bad = next((n for n, i in doc.items() if not _entry_ok(i)), "?")
        raise BrokenFile(
            f"tensor entry {bad[:80]!r} is malformed (not an object with shape and data_offsets)"
        ) from None
    if not isinstance(furthest, int) or furthest > data_len:
        raise BrokenFile(
            f"tensor data runs past the end of the file (needs {furthest} bytes, has {data_len}): truncated"
        )
    return Header(length=len(raw), metadata=metadata, tensors=tensors, digest=hashlib.sha256(raw).hexdigest())


def _entry_ok(info) -> bool:
    return (
        isinstance(info, dict)
        and isinstance(info.get("shape"), list)
        and isinstance(info.get("data_offsets"), list)
        and len(info["data_offsets"]) == 2
    )
