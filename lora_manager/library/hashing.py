"""Every hash a LoRA is known by, from one sequential read of the file.

| name            | bytes hashed                    | short form                  |
| full SHA-256    | whole file                      | AutoV2 = 10 hex (Civitai)   |
| tensor SHA-256  | bytes after the header (8 + N)  | AutoV3 = 12 hex; SDNext 8   |
| legacy          | bytes 0x100000 .. 0x110000      | 8 hex (old kohya)           |

hashlib releases the GIL for large updates, so two threads hashing two
files use both cores.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
CHUNK = 1 << 20  # 1 MiB: large enough that hashlib drops the GIL, small enough for the cache
LEGACY_START, LEGACY_END = 0x100000, 0x110000


@dataclass(slots=True, frozen=True)
class Hashes:
    sha256: str  # full file
    tensor_sha256: str | None  # None when the file is not a readable safetensors
    legacy: str | None  # None when the file is shorter than 1 MiB + 64 KiB

    @property
    def autov2(self) -> str:
        return self.sha256[:10]

    @property
    def autov3(self) -> str | None:
        return self.tensor_sha256[:12] if self.tensor_sha256 else None


def _data_offset(prefix: bytes, size: int) -> int | None:
    """Start of tensor data for a safetensors file, or None when not one."""
    if len(prefix) < 8:
        return None
    (n,) = struct.unpack_from("<Q", prefix)
    if n == 0 or 8 + n > size:
        return None
    return 8 + n


def hash_file(path: str, progress=None) -> Hashes:
    """Hash `path` in one pass. `progress(nbytes)` is called after each chunk."""
    full = hashlib.sha256()
    tensor = hashlib.sha256()
    legacy = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        pos = 0
        data_start: int | None = -1  # unknown until the first chunk
        while True:
            n = f.readinto(buf)
            if not n:
                break
            chunk = view[:n]
            full.update(chunk)
            if data_start == -1:
                data_start = _data_offset(bytes(chunk[:8]), size)
            if data_start is not None:
                end = pos + n
                if end > data_start:
                    tensor.update(chunk[max(0, data_start - pos):])
            if pos < LEGACY_END and pos + n > LEGACY_START:
                legacy.update(chunk[max(0, LEGACY_START - pos): min(n, LEGACY_END - pos)])
            pos += n
            if progress is not None:
                progress(n)
    tensor_hex = tensor.hexdigest() if data_start not in (None, -1) else None
    return Hashes(
        sha256=full.hexdigest(),
        # No tensor bytes hashes to the empty digest, which is never a model's hash.
        tensor_sha256=None if tensor_hex == EMPTY_SHA256 else tensor_hex,
        legacy=legacy.hexdigest()[:8] if pos >= LEGACY_END else None,
    )
