"""Handing freed heap memory back to the system (glibc's malloc_trim).

CPython's allocator frees small objects into arenas that glibc keeps, so a
big transient piece of work (reading the library into the recommender, a
burst of large pages) leaves the resident size high long after. Only for a
process we own: `serve` and the CLI; never called inside the SDNext host,
whose memory is not ours to manage (see docs/performance-api.md)."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from functools import lru_cache


@lru_cache(maxsize=1)
def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None  # musl has none
    except OSError:
        return None


def trim() -> bool:
    """Collect garbage and return free heap pages to the system; False where unsupported."""
    gc.collect()
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
