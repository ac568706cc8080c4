"""Answer shapes of the analytics and autocomplete routes: figures read from the usage rollups."""

from __future__ import annotations
from typing import Any, Optional, Union
from pydantic import BaseModel, Field


class AnalyticsSummary(BaseModel):
    range: dict[str, Any]
    totals: dict[str, Any]
    timeline: list[dict[str, Any]]
    most_used: list[dict[str, Any]]
    least_used: list[dict[str, Any]]
    never_used: dict[str, Any]
    co_usage: list[dict[str, Any]]
    top_triggers: list[dict[str, Any]]


class AnalyticsLora(BaseModel):
    id: Optional[int] = None
    prompt_name: str
    uses: int
    requests: int
    first_used: Optional[str] = None
    last_used: Optional[str] = None
    outcomes: dict[str, int]
    weights: dict[str, int]
    families: dict[str, int]
    mean_ms_with: Optional[float] = None
    mean_ms_without: Optional[float] = None


class AnalyticsLoras(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[AnalyticsLora]


class AutocompleteColumns(BaseModel):
    """One list per field, all of the same length: entry i is the i-th of each."""

    id: list[int]
    prompt_name: list[str] = Field(description="what the host resolves in <lora:NAME:weight>")
    name: list[Optional[str]] = Field(description="file base name; null where it equals prompt_name")
    title: list[Optional[str]]
    alias: list[Optional[str]] = Field(description="ss_output_name; null where absent or equal to the name")
    base: list[Optional[str]] = Field(description="base family (the user's override wins)")
    weight: list[Optional[float]] = Field(description="preferred weight (the user's, else suggested); null: default")
    triggers: list[list[str]]
    tags: list[list[str]] = Field(description="the user's tags, then the first tags the file or its sidecars give")
    uses: list[int] = Field(description="generations that applied it")
    last_used: list[Optional[int]] = Field(description="Unix seconds of the last use")
    preview: list[Union[int, str, None]] = Field(
        description="index for /loras/{id}/previews/{index}, \"cover\", or null"
    )


class AutocompleteIndex(BaseModel):
    version: str = Field(description="changes with the content; also the ETag")
    count: int
    checkpoint_family: Optional[str] = Field(None, description="the host's loaded checkpoint family; null when unknown")
    columns: AutocompleteColumns


# ---------------------------------------------------------------- recommendations
