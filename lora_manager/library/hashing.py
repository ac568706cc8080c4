"""Every hash a LoRA is known by, from one sequential read of the file.

| name            | bytes hashed                    | short form                  |
| full SHA-256    | whole file                      | AutoV2 = 10 hex (Civitai)   |
| tensor SHA-256  | bytes after the header (8 + N)  | AutoV3 = 12 hex; SDNext 8   |
| legacy          | bytes 0x100000 .. 0x110000      | 8 hex (old kohya)           |

SHA-256 cannot be resumed from another state, so the tensor bytes go through
it twice (once in each digest). hashlib releases the GIL for large updates:
two threads hashing two files use both cores, and a big file hashed alone
(the last of a batch, or the only one) can feed its tensor digest from a
second thread so that it still uses both.
After the read the file's pages are dropped from the page cache, unless
the file was found cached before it was read (docs/performance-hashing.md):
hashing a large library must not push the host's loaded models out of
memory, and a file the system had cached (one the host just loaded) is left
as it was found.
"""

from __future__ import annotations

import hashlib
import os
import queue
import struct
import threading
from dataclasses import dataclass
from functools import partial

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
CHUNK = 1 << 20  # 1 MiB: large enough that hashlib drops the GIL, small enough for the cache
LEGACY_START, LEGACY_END = 0x100000, 0x110000
SPLIT_AT = 16 << 20  # files at least this big feed the tensor digest from a second thread
BUFFERS = 4  # chunks in flight between the reader and the tensor thread
FADVISE = hasattr(os, "posix_fadvise")
NOWAIT = getattr(os, "RWF_NOWAIT", None)  # a read that fails rather than wait for the disk (Linux)
# The bytes of a LoRA's head a scan asks for (library/prefetch.py): its header, 30-100 KB in real files.
HEAD_BYTES = 128 << 10
_local = threading.local()  # one read buffer per hashing thread: zeroing 1 MiB per small file costs more than its read


def _buffer() -> bytearray:
    buf = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = bytearray(CHUNK)
    return buf


@dataclass(slots=True, frozen=True)
class Hashes:
    sha256: str  # full file
    tensor_sha256: str | None  # None when the file is not a readable safetensors
    legacy: str | None  # None when the file is shorter than 1 MiB + 64 KiB
    size: int = -1  # the file's size and mtime when it was opened
    mtime_ns: int = -1
    file_id: tuple[int, int] = (-1, -1)  # its (device, inode): a file put in its place since is another file

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


def _readv(fd: int, buf) -> int:
    return os.readv(fd, (buf,))


def _opened(path: str, fd: int | None):
    """(fd, readinto, close) of the file to hash: opened here (a folder is refused), or the descriptor opened
    ahead (library/prefetch.py; POSIX only), read as it is, with no file object over it."""
    if fd is None:
        f = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the caller, with the close given
        return f.fileno(), f.readinto, f.close
    return fd, partial(_readv, fd), partial(os.close, fd)


class _TensorThread(threading.Thread):
    """Updates one digest from chunks the reader hands over, and hands the buffers back."""

    def __init__(self, digest, free: queue.SimpleQueue):
        super().__init__(name="lora-manager-hash-tensor", daemon=True)
        self.digest = digest
        self.free = free
        self.todo: queue.SimpleQueue = queue.SimpleQueue()

    def run(self) -> None:
        while (item := self.todo.get()) is not None:
            buf, start, end = item
            self.digest.update(memoryview(buf)[start:end])
            self.free.put(buf)


def advise(fd: int, advice_name: str, length: int = 0) -> None:
    """`posix_fadvise` of the file's first `length` bytes (0: all of it), where the platform has it."""
    if FADVISE:
        try:
            os.posix_fadvise(fd, 0, length, getattr(os, advice_name))
        except OSError:  # a file system without the hint (some FUSE mounts), not a regular file: only the hint goes
            pass


def cached(fd: int, size: int) -> bool:
    """Whether the file was found in the page cache: its middle and last pages can be read without waiting for
    the disk (a file cached in part elsewhere counts as cached). A file no longer than the head a scan asks
    for (`HEAD_BYTES`, never dropped) counts as not cached: the scan brought it in. False where it cannot be
    told (no `RWF_NOWAIT`, a file system that refuses it): the file is then taken as read from the disk.

    Two pages, in this order, and not the last alone: a read with `RWF_NOWAIT` that finds no page still starts
    reading it in, so a page asked about once is cached the next time it is asked about (a second pass over the
    same file). The middle page's read does not reach the last page of a LoRA, so a file asked about twice still
    counts as not cached."""
    if NOWAIT is None or size <= HEAD_BYTES:
        return False
    probe = bytearray(1)
    try:
        return all(os.preadv(fd, [probe], at, NOWAIT) == 1 for at in (size // 2, size - 1))
    except (OSError, OverflowError):  # BlockingIOError: not in the cache; EOPNOTSUPP, EINVAL: cannot tell
        return False


def hash_file(path: str, progress=None, *, evict: bool | None = None, split_at: int = SPLIT_AT,
              fd: int | None = None, st: os.stat_result | None = None) -> Hashes:
    """Hash `path` in one read (from `fd` when given, a regular file opened on it already, with `st`, its
    `fstat` taken when opened: it is closed here). `progress(nbytes)` is called after each chunk.

    With `evict`, the file's pages leave the page cache afterwards; with None, unless it was found cached when
    opened here (`cached`; a caller that hinted `fd` already says which it is). Files of `split_at` bytes or
    more feed the tensor digest from a second thread. The result carries the size, mtime and identity the file
    had when it was opened; the read stops at that size (a file that grew since is told by its size after).
    """
    full = hashlib.sha256()
    tensor = hashlib.sha256()
    legacy = None
    fd, readinto, close = _opened(path, fd)
    try:
        if st is None:
            st = os.fstat(fd)
        size = st.st_size
        if evict is None:
            evict = FADVISE and not cached(fd, size)
        if size > CHUNK:
            advise(fd, "POSIX_FADV_SEQUENTIAL")
        side = None
        if size >= split_at:
            free: queue.SimpleQueue = queue.SimpleQueue()
            for _ in range(BUFFERS):
                free.put(bytearray(CHUNK))
            side = _TensorThread(tensor, free)
            side.start()
        buf = _buffer()
        pos = 0
        data_start: int | None = -1  # unknown until the first chunk
        try:
            while pos < size:
                if side is not None:
                    buf = free.get()
                left = size - pos  # no further than the size seen when opened
                n = readinto(buf if left >= len(buf) else memoryview(buf)[:left])
                if not n:
                    break
                view = memoryview(buf)
                full.update(view[:n])
                if data_start == -1:
                    data_start = _data_offset(bytes(view[:8]), size)
                if pos < LEGACY_END and pos + n > LEGACY_START:
                    legacy = legacy or hashlib.sha256()
                    legacy.update(view[max(0, LEGACY_START - pos): min(n, LEGACY_END - pos)])
                if data_start is not None and pos + n > data_start:
                    start = max(0, data_start - pos)
                    if side is not None:
                        side.todo.put((buf, start, n))
                    else:
                        tensor.update(view[start:n])
                elif side is not None:
                    free.put(buf)
                pos += n
                if progress is not None:
                    progress(n)
        finally:
            if side is not None:
                side.todo.put(None)
                side.join()
            if evict:
                advise(fd, "POSIX_FADV_DONTNEED")
    finally:
        close()
    tensor_hex = tensor.hexdigest() if data_start not in (None, -1) else None
    return Hashes(
        sha256=full.hexdigest(),
        # No tensor bytes hashes to the empty digest, which is never a model's hash.
        tensor_sha256=None if tensor_hex == EMPTY_SHA256 else tensor_hex,
        legacy=legacy.hexdigest()[:8] if legacy is not None and pos >= LEGACY_END else None,
        size=size,
        mtime_ns=st.st_mtime_ns,
        file_id=(st.st_dev, st.st_ino),
    )
