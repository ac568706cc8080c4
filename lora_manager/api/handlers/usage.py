"""Recorded generations and the analytics over them."""

from __future__ import annotations

from typing import Optional

from fastapi import Query
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from ...catalog.service import Catalog
from ...errors import NotFound
from ...usage.analytics import Analytics
from ..moments import SINCE, UNTIL, moment, to_utc, zones
from ..responses import JSON
from ..schemas import TEXT
from . import KEY_PATH


def usage(
    analytics: Analytics,
    cat: Catalog,
    lora: Optional[str] = Query(None, max_length=300, pattern=TEXT,
                                description="only generations that asked for or applied this LoRA"),
    since: Optional[str] = moment("ISO 8601; without a zone, UTC"),
    until: Optional[str] = moment("ISO 8601, exclusive"),
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> Response:
    lora_id = prompt_name = None
    if lora is not None:
        try:
            lora_id = cat.resolve(lora)
        except NotFound:
            prompt_name = lora  # a name the host was asked for but we do not know
    return JSON(analytics.list_usage(lora_id=lora_id, prompt_name=prompt_name, since=to_utc(since),
                                     until=to_utc(until), limit=limit, offset=offset))


def analytics_summary(
    analytics: Analytics,
    since: Optional[str] = moment(SINCE), until: Optional[str] = moment(UNTIL),
    tz: str = Query("UTC", max_length=64, description="IANA time zone for the buckets",
                    json_schema_extra={"enum": zones()}),
    bucket: str = Query("day", pattern="^(day|week|month)$"),
    top: int = Query(10, ge=1, le=100),
) -> Response:
    return JSON(analytics.summary(to_utc(since), to_utc(until), tz, bucket, top))


def analytics_loras(
    analytics: Analytics,
    since: Optional[str] = moment(SINCE), until: Optional[str] = moment(UNTIL),
    sort: str = Query("uses", pattern="^-?(uses|last_used|name)$"),
    limit: int = Query(100, ge=1, le=10_000), offset: int = Query(0, ge=0, le=10_000_000),
) -> Response:
    return JSON(analytics.loras(to_utc(since), to_utc(until), sort, limit, offset))


def analytics_lora(analytics: Analytics, cat: Catalog, key: str = KEY_PATH, since: Optional[str] = moment(SINCE),
         until: Optional[str] = moment(UNTIL)) -> Response:
    entry = cat.get(key)
    return JSON(analytics.figures(entry["id"], entry["prompt_name"], to_utc(since), to_utc(until)))


def analytics_events(analytics: Analytics, since: Optional[str] = moment(SINCE),
                     until: Optional[str] = moment(UNTIL)) -> Response:
    return StreamingResponse(analytics.events_csv(to_utc(since), to_utc(until)), media_type="text/csv",
                             headers={"Content-Disposition": 'attachment; filename="lora-manager-events.csv"'})
