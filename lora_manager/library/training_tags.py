"""One file's training tags, read again after the index (the background pass of sync/training.py)."""

from __future__ import annotations

import logging

from ..errors import BrokenFile
from .header import read_header
from .metadata import training_tags

log = logging.getLogger(__name__)


def read_training_tags(path: str, size: int, header_digest: str | None) -> list[list] | None:
    """The top training tags of the file at `path`, as `probe` would have stored them ([[tag, count], ...]).

    None when the file cannot be read or its header is not the one the index read (`header_digest`):
    the next scan reads that file again anyway.
    """
    try:
        header = read_header(path, size)
    except BrokenFile:
        return None
    if header_digest is not None and header.digest != header_digest:
        return None
    return [list(t) for t in training_tags(header.metadata)]


def read_training_tags_safely(path: str, size: int, header_digest: str | None) -> list[list] | None:
    """`read_training_tags`, where a reader bug on one odd file gives no tags ([]: stored, so that the file
    is not asked about again at every scan) instead of ending the pass."""
    try:
        return read_training_tags(path, size, header_digest)
    except Exception:  # noqa: BLE001 - logged; the pass goes on
        log.exception("reading training tags of %s failed", path)
        return []
