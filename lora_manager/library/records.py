"""Typed records produced by the library readers (plain dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LORA_EXTENSIONS = (".safetensors", ".pt", ".ckpt")


@dataclass(slots=True)
class Header:
    """A parsed safetensors header."""

    length: int  # N, the JSON header's byte length
    metadata: dict[str, str]  # `__metadata__`, values coerced to str
    tensors: dict[str, list[int]]  # tensor name -> shape
    digest: str  # sha256 hex of the raw header bytes: a cheap fingerprint


@dataclass(slots=True)
class SidecarFacts:
    """What one sidecar file says about its LoRA. Every field is optional."""

    kind: str  # a1111_json | civitai_model_json | civitai_info | api_info | lm_metadata | cm_info | txt | description_txt
    name: str  # file name of the sidecar, relative to the LoRA's folder
    error: str | None = None  # set when the file could not be read or parsed
    title: str | None = None
    version_name: str | None = None
    description: str | None = None
    author: str | None = None
    base_label: str | None = None  # Civitai-style label: "SDXL 1.0", "Pony", "SD 1.5", "Flux.1 D" ...
    triggers: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    sha256: str | None = None  # full-file SHA-256 (lowercase hex) when the sidecar states it
    autov3: str | None = None
    preferred_weight: float | None = None
    weight_min: float | None = None
    weight_max: float | None = None
    negative_text: str | None = None
    notes: str | None = None
    civitai_model_id: int | None = None
    civitai_version_id: int | None = None
    nsfw: bool | None = None
    preview_urls: list[str] = field(default_factory=list)
    favorite: bool | None = None
    # Which of a Civitai model's versions is ours: sha256 | autov2 | name | only | first (a guess); None: one version
    version_match: str | None = None
    hash_checked: bool = False  # the LoRA's own hash was known when the version was picked


@dataclass(slots=True)
class Preview:
    name: str  # file name, relative to the LoRA's folder
    kind: str  # "image" | "video"
    convention: str  # "preview" | "plain" | "thumb" | "example"


@dataclass(slots=True)
class BaseModel:
    family: str | None  # SDNext vocabulary: sd1, sd2, xl, sd3, sc, f1, f2, hv, chroma, zimage, qwen, ...
    label: str | None  # finer label where known (Pony, Illustrious, "SDXL 1.0", ...)
    source: str | None  # ss_base_model_version | modelspec | tensors | sidecar | name | None


@dataclass(slots=True)
class LoraFacts:
    """Everything the file and its sidecars say, normalised. User data is not here."""

    title: str | None = None
    alias: str | None = None  # ss_output_name
    network_type: str | None = None  # LoRA, LoCon, LoHa, LoKr, DoRA, OFT, GLoRA, IA3, ...
    rank: int | None = None
    alpha: float | None = None
    base: BaseModel = field(default_factory=lambda: BaseModel(None, None, None))
    triggers: list[str] = field(default_factory=list)
    training_tags: list[tuple[str, int]] = field(default_factory=list)
    source_tags: list[str] = field(default_factory=list)
    description: str | None = None
    author: str | None = None
    trained_started: str | None = None  # ISO 8601
    trained_finished: str | None = None
    resolution: str | None = None
    cover_mime: str | None = None  # an embedded cover image exists (modelspec.thumbnail / ssmd_cover_images)
    header_hash: str | None = None  # sshs_model_hash: tensor-only sha256 stated by the trainer
    metadata: dict[str, Any] = field(default_factory=dict)  # raw metadata, large values trimmed
    suggested: dict[str, Any] = field(default_factory=dict)  # weights/negative text the sidecars suggest
    sidecars: list[SidecarFacts] = field(default_factory=list)
    previews: list[Preview] = field(default_factory=list)
