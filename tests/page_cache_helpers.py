"""The kernel's page cache as the tests see it: how many of a file's pages it holds (mincore(2)), and a file put
out of it. Linux; a test that needs them skips elsewhere."""

from __future__ import annotations

import ctypes
import mmap
import os

import pytest


def resident_pages(path) -> tuple[int, int]:
    """(pages of `path` in the page cache, pages of the file), by mincore(2) over a read-only mapping of the file
    that touches none of its pages. An empty file has none."""
    size = os.path.getsize(path)
    pages = -(-size // mmap.PAGESIZE)
    if not size:
        return 0, 0
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        assert addr not in (None, ctypes.c_void_p(-1).value), os.strerror(ctypes.get_errno())
        try:
            vec = (ctypes.c_ubyte * pages)()
            assert libc.mincore(addr, size, vec) == 0, os.strerror(ctypes.get_errno())
            return sum(v & 1 for v in vec), pages
        finally:
            libc.munmap(addr, size)
    finally:
        os.close(fd)


def cached_pages(path) -> int:
    """Pages of `path` in the page cache."""
    return resident_pages(path)[0]


def make_cold(path) -> None:
    """`path`'s pages out of the page cache (written back first: dirty pages cannot be dropped). Skips the test
    where the file system keeps its files in memory (tmpfs): nothing would be read from a disk."""
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    if cached_pages(path):
        pytest.skip("this file system keeps its files in memory: nothing is read from a disk")
