"""Request and answer shapes of the recommendation routes (api/handlers/recommend.py)."""

from __future__ import annotations
from typing import Any, Literal, Optional
from pydantic import BaseModel, ConfigDict, Field
from ..library.basemodel import FAMILIES

from .schemas import TEXT, Lora


class RecommendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str = Field(..., max_length=10_000,
                        description="the prompt; its <lora:...> tags are read, then left out of the match")
    limit: int = Field(10, ge=1, le=50)
    base: Optional[Literal[FAMILIES]] = Field(  # type: ignore[valid-type]
        None,
        description="target checkpoint family; default: the host's loaded one, else that of the LoRAs in the prompt")
    user: str = Field("", max_length=200, pattern=TEXT,
                      description="whose feedback applies ('' where the host has no users)")


class Reason(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: Literal["trigger", "close_trigger", "similar_text", "words", "co_usage", "popular", "feedback"]
    text: str = Field(description="for a person: matched trigger \"x\", similar text, often used with y, ...")


class Recommendation(BaseModel):
    lora: Lora
    score: float
    reasons: list[Reason]
    tag: str = Field(description="ready to insert: <lora:PROMPT_NAME:WEIGHT> (preferred weight, else 1.0)")
    triggers: list[str]


class Recommendations(BaseModel):
    mode: Literal["semantic", "lexical"] = Field(description="lexical while the model loads or when it cannot")
    base: Optional[str] = Field(None, description="the family suggestions were limited to (null: any)")
    base_source: Optional[str] = Field(None, description="given, loaded checkpoint, LoRAs in the prompt, this LoRA")
    items: list[Recommendation]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(..., min_length=1, max_length=300, pattern=TEXT,
                     description="the suggested LoRA: id, prompt name, file name or hash")
    action: Literal["accept", "dismiss", "down"]
    user: str = Field("", max_length=200, pattern=TEXT)


class FeedbackResult(BaseModel):
    user: str
    lora_id: int
    accepts: int
    dismisses: int
    downs: int


class RecommendStatus(BaseModel):
    mode: Literal["semantic", "lexical"]
    reason: Optional[str] = Field(None, description="why the lexical ranking answers, when it does")
    model: dict[str, Any] = Field(description="name, path, source, device, state "
                                  "(idle|downloading|loading|ready|failed|disabled), error, dim, download "
                                  "(state, repo, bytes, total_bytes, error of a one-time fetch, or null)")
    index: dict[str, Any] = Field(description="size (LoRAs embedded), library (LoRAs readable), file, "
                                  "loaded_from_disk, note")
    build: dict[str, Any] = Field(description="running, done, total, rate (texts/s), error")
