"""What a scan compares the disk against, and what a hashing thread hands to the store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class IndexRow:
    id: int
    size: int
    mtime_ns: int
    companion_sig: int
    state: str
    header_digest: str | None
    sha256: str | None


@dataclass(slots=True)
class HashResult:
    id: int
    size: int
    mtime_ns: int
    sha256: str | None = None
    tensor_sha256: str | None = None
    legacy: str | None = None
    error: str | None = None
