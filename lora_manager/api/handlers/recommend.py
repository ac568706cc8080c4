"""The recommender: for a prompt, like a LoRA, feedback, status."""

from __future__ import annotations

from typing import Optional

from fastapi import Body, Query
from starlette.responses import Response

from ...library.basemodel import FAMILIES
from ...recommend.service import Recommender
from .. import recommend_schemas as S
from ..responses import JSON
from . import KEY_PATH

FAMILY_PATTERN = "^(" + "|".join(FAMILIES) + ")$"


def for_prompt(rec: Recommender, req: S.RecommendRequest = Body(...)) -> Response:
    return JSON(rec.for_prompt(req.prompt, req.limit, req.base, req.user))


def similar(
    rec: Recommender,
    key: str = KEY_PATH,
    limit: int = Query(10, ge=1, le=50),
    base: Optional[str] = Query(None, pattern=FAMILY_PATTERN, description="default: this LoRA's family"),
    user: str = Query("", max_length=200),
) -> Response:
    return JSON(rec.similar(key, limit, base, user))


def feedback(rec: Recommender, req: S.FeedbackRequest = Body(...)) -> Response:
    return JSON(rec.feedback(req.key, req.action, req.user))


def status(rec: Recommender) -> Response:
    rec.start()
    return JSON(rec.status())
