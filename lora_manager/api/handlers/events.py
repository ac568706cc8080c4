"""The progress stream (Server-Sent Events)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import Query, Request
from fastapi.responses import StreamingResponse
from starlette.responses import Response


async def events(core, request: Request, heartbeat: float = Query(15.0, ge=1, le=300)) -> Response:
    return StreamingResponse(_sse(core, request, heartbeat), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _sse(core, request: Request, heartbeat: float):
    sid, queue = core.events.subscribe()
    try:
        hello = {"type": "hello", "scan": core.scans.status(), "hashing": core.hasher.status()}
        yield _frame(hello)
        while not await request.is_disconnected():
            try:
                event = await asyncio.wait_for(queue.get(), timeout=heartbeat)
            except asyncio.TimeoutError:
                yield b": keep-alive\n\n"
                continue
            yield _frame(event)
    finally:
        core.events.unsubscribe(sid)


def _frame(event: dict[str, Any]) -> bytes:
    return b"event: " + str(event.get("type", "message")).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"
