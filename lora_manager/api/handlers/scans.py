"""Scans and background hashing."""

from __future__ import annotations

from starlette.responses import Response

from ...errors import NotFound
from ...sync.hasher import Hasher
from ...sync.scans import ScanService
from ..responses import JSON


def start_scan(scans: ScanService) -> Response:
    return JSON(scans.start("api"), status_code=202)


def scan_status(scans: ScanService) -> Response:
    return JSON(scans.status())


def last_scan(scans: ScanService) -> Response:
    if scans.last_report is None:
        raise NotFound("no scan has finished since the server started")
    return JSON(scans.last_report)


def hashing(hasher: Hasher) -> Response:
    return JSON(hasher.full_status())
