"""The prompt autocomplete's index, with an ETag."""

from __future__ import annotations

from typing import Optional

from fastapi import Header
from starlette.responses import Response

from ...catalog.autocomplete import AutocompleteIndex


def autocomplete(index: AutocompleteIndex, if_none_match: Optional[str] = Header(None, max_length=1000)) -> Response:
    body = index.current()
    headers = {"ETag": f'"{body.version}"', "Cache-Control": "private, no-cache"}
    if if_none_match and etag_matches(if_none_match, body.version):
        return Response(status_code=304, headers=headers)
    return Response(body.body, media_type="application/json", headers=headers)


def etag_matches(header: str, version: str) -> bool:
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/").strip('"') == version:
            return True
    return False
