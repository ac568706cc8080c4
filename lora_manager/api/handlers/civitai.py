"""Routes of Civitai's metadata by hash: start a fetch, its status, one LoRA's Civitai facts."""

from __future__ import annotations

from fastapi import Body, Path
from starlette.responses import Response

from ...errors import InvalidInput
from .. import civitai_schemas as C
from ..responses import JSON

KEY = Path(..., max_length=300, description="id, prompt name, file name or any hash form")


def civitai_routes(core, route) -> list:
    """Route entries over `core.civitai`; `route` is routes.Route (passed in to avoid an import cycle)."""
    svc = core.civitai

    def fetch(req: C.CivitaiFetchRequest = Body(...)) -> Response:
        if bool(req.keys) == req.all_missing:
            raise InvalidInput("give LoRA keys, or all_missing: true (not both)")
        ids = svc.resolve(req.keys) if req.keys else None
        return JSON(svc.start(ids, all_missing=req.all_missing, refresh=req.refresh, reason="api"), status_code=202)

    def status() -> Response:
        return JSON(svc.status())

    def lora(key: str = KEY) -> Response:
        [lid] = svc.resolve([key])
        return JSON(svc.civitai_facts(lid) or {"status": "not_asked"})

    return [
        route("/civitai/fetch", "POST", fetch,
              "look LoRAs up on Civitai by hash, in the background (409 while one runs)",
              C.CivitaiStatus, status_code=202),
        route("/civitai/status", "GET", status, "the running or last Civitai fetch, and the library's records",
              C.CivitaiStatus),
        route("/civitai/loras/{key}", "GET", lora, "one LoRA's Civitai facts, beside its own fields", C.CivitaiFacts),
    ]
