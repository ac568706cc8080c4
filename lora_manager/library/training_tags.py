"""One file's training tags and stored metadata, read again after the index (the background pass of
sync/training.py): what a large scan's header workers leave out (`probe.probe`'s `training`)."""

from __future__ import annotations

import logging

from ..errors import BrokenFile
from .header import read_header
from .metadata import trimmed_metadata, training_tags
from .prefetch import HEAD_BYTES, will_read
from .records import LeftOut

log = logging.getLogger(__name__)


def read_left_out(path: str, size: int, header_digest: str | None) -> LeftOut | None:
    """The training tags and the stored (trimmed) metadata of the file at `path`.

    None when the file cannot be read or its header is not the one the index read (`header_digest`):
    the next scan reads that file again anyway.
    """
    try:
        header = read_header(path, size)
    except BrokenFile:
        return None
    if header_digest is not None and header.digest != header_digest:
        return None
    return [list(t) for t in training_tags(header.metadata)], trimmed_metadata(header.metadata)


def read_left_out_safely(path: str, size: int, header_digest: str | None) -> LeftOut | None:
    """`read_left_out`, where a reader bug on one odd file gives nothing ([] and {}: stored, so that the file
    is not asked about again at every scan) instead of ending the pass."""
    try:
        return read_left_out(path, size, header_digest)
    except Exception:  # noqa: BLE001 - logged; the pass goes on
        log.exception("reading the training tags and metadata of %s failed", path)
        return [], {}


def read_left_out_many(items: list[tuple[int, str, int, str | None]]) -> list[tuple[int, LeftOut | None]]:
    """`read_left_out_safely` of each (id, path, size, header_digest), the heads asked for at once first
    (prefetch.py)."""
    if len(items) > 1:
        will_read((path, min(size or 0, HEAD_BYTES)) for _, path, size, _ in items)
    return [(lid, read_left_out_safely(path, size, digest)) for lid, path, size, digest in items]
