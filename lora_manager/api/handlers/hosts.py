"""The hosts of one library (several SDNext hosts or servers on one PostgreSQL; docs/several-hosts.md)."""

from __future__ import annotations

from starlette.responses import Response

from ..responses import JSON


def hosts(service) -> Response:
    return JSON(service.list())
