"""Routes of the recommender: for a prompt, like a LoRA, feedback, status."""

from __future__ import annotations

from typing import Optional

from fastapi import Body, Path, Query
from starlette.responses import Response

from ..library.basemodel import FAMILIES
from . import recommend_schemas as S
from .responses import JSON

FAMILY_PATTERN = "^(" + "|".join(FAMILIES) + ")$"


def recommend_routes(core, route) -> list:
    """Route entries over `core.recommender`; `route` is routes.Route (passed in to avoid an import cycle)."""
    rec = core.recommender

    def for_prompt(req: S.RecommendRequest = Body(...)) -> Response:
        return JSON(rec.for_prompt(req.prompt, req.limit, req.base, req.user))

    def similar(
        key: str = Path(..., max_length=300, description="id, prompt name, file name or any hash form"),
        limit: int = Query(10, ge=1, le=50),
        base: Optional[str] = Query(None, pattern=FAMILY_PATTERN, description="default: this LoRA's family"),
        user: str = Query("", max_length=200),
    ) -> Response:
        return JSON(rec.similar(key, limit, base, user))

    def feedback(req: S.FeedbackRequest = Body(...)) -> Response:
        return JSON(rec.feedback(req.key, req.action, req.user))

    def status() -> Response:
        rec.start()
        return JSON(rec.status())

    return [
        route("/recommendations/for-prompt", "POST", for_prompt,
              "LoRAs for a prompt, with reasons and ready <lora:...> tags", S.Recommendations),
        route("/recommendations/similar/{key}", "GET", similar, "LoRAs like this one, by text and co-usage", S.Recommendations),
        route("/recommendations/feedback", "POST", feedback, "accept, dismiss or thumbs-down a suggestion", S.FeedbackResult),
        route("/recommendations/status", "GET", status, "model state, index size, build progress", S.RecommendStatus),
    ]
