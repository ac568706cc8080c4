"""One file's training tags, read again after the index (the background pass of sync/training.py)."""

from __future__ import annotations

from ..errors import BrokenFile
from .header import read_header
from .metadata import training_tags


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
