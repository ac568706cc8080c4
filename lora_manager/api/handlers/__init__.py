"""Route handlers, one module per resource: plain functions whose first parameters are the
services they use (bound by the route table, api/routes.py, with `bind`); the rest are the
request's, as FastAPI reads them. Handlers call services only: no SQL, no file reads."""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import Any
from collections.abc import Callable

from fastapi import Path

KEY_PATH = Path(..., max_length=300, description="id, prompt name, file name or any hash form")
JOB_ID = Path(..., max_length=64)
INDEX = Path(..., ge=0, le=1000)


def bind(handler: Callable[..., Any], *services: Any) -> Callable[..., Any]:
    """`handler` with its first parameters given: FastAPI sees only the request's."""
    signature = inspect.signature(handler)
    rest = list(signature.parameters.values())[len(services):]
    if asyncio.iscoroutinefunction(handler):

        @functools.wraps(handler)
        async def bound_async(*args, **kwargs):
            return await handler(*services, *args, **kwargs)

        bound: Callable[..., Any] = bound_async
    else:

        @functools.wraps(handler)
        def bound(*args, **kwargs):
            return handler(*services, *args, **kwargs)

    bound.__signature__ = signature.replace(parameters=rest)  # type: ignore[attr-defined]
    return bound
