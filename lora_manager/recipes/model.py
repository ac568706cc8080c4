"""A recipe's shape and its limits, declared once: the service validates with these models and the
API's schemas reuse them (docs/recipes.md)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import InvalidInput

MAX_TEXT = 10_000
MAX_LORAS = 32
MAX_TAGS = 50
MAX_PARAMS = 60
HASH = r"^[0-9a-fA-F]{8,64}$"
NAME = r"^[^<>:\x00\n\r]*[^<>:\x00\n\r\s][^<>:\x00\n\r]*$"  # a prompt name: no tag syntax, not blank
Tag = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]
ParamName = Annotated[str, Field(min_length=1, max_length=100)]
ParamValue = Annotated[str, Field(max_length=2000)] | int | float | bool | None
SOURCES = ("manual", "image", "event", "import")


class RecipeLora(BaseModel):
    """One LoRA of the stack: its prompt name, weights and what identifies the file."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(..., min_length=1, max_length=300, pattern=NAME)
    weight: float = Field(1.0, ge=-20, le=20)
    te: float | None = Field(None, ge=-20, le=20, description="text-encoder weight, when it differs")
    unet: float | None = Field(None, ge=-20, le=20)
    blocks: str | None = Field(None, max_length=500, description="block weights: in=/mid=/out= as in the prompt")
    sha256: str | None = Field(None, pattern=HASH, description="full-file SHA-256 (or its AutoV2 prefix)")
    tensor_sha256: str | None = Field(None, pattern=HASH, description="tensor SHA-256 (or its AutoV3 / short prefix)")
    civitai_model_id: int | None = Field(None, ge=1, le=2**53)
    civitai_version_id: int | None = Field(None, ge=1, le=2**53)

    @field_validator("name")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()

    @field_validator("sha256", "tensor_sha256")
    @classmethod
    def _lower(cls, v: str | None) -> str | None:
        return v.lower() if v else v


class RecipeFields(BaseModel):
    """What a person or a tool says about a recipe (every field optional: a PATCH gives some)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=200)
    prompt: str | None = Field(None, max_length=MAX_TEXT)
    negative_prompt: str | None = Field(None, max_length=MAX_TEXT)
    loras: list[RecipeLora] | None = Field(None, max_length=MAX_LORAS)
    checkpoint: str | None = Field(None, max_length=300)
    checkpoint_hash: str | None = Field(None, pattern=HASH)
    base_model: str | None = Field(None, max_length=32)
    sampler: str | None = Field(None, max_length=64)
    scheduler: str | None = Field(None, max_length=64)
    steps: int | None = Field(None, ge=1, le=500)
    cfg_scale: float | None = Field(None, ge=0, le=100)
    width: int | None = Field(None, ge=8, le=16384)
    height: int | None = Field(None, ge=8, le=16384)
    seed: int | None = Field(None, ge=-1, le=2**53 - 1)
    params: dict[ParamName, ParamValue] | None = Field(None, max_length=MAX_PARAMS,
                                                       description="other settings, by name (clip skip, ...)")
    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS)
    notes: str | None = Field(None, max_length=MAX_TEXT)

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        out: list[str] = []
        for tag in v:
            tag = " ".join(str(tag).split()).lower()
            if tag not in out:
                out.append(tag)
        return out


def validate(data: Any, *, partial: bool = False) -> dict[str, Any]:
    """The fields given (all of them, defaults filled, unless `partial`), checked; InvalidInput names the first
    problem."""
    if not isinstance(data, dict):
        raise InvalidInput("a recipe is a JSON object")
    data = {k: v for k, v in data.items() if k in RecipeFields.model_fields}  # a document's other keys: not ours
    try:
        fields = RecipeFields.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(f"recipe field {where or '?'}: {first.get('msg', 'invalid')}", {"field": where}) from None
    given = fields.model_dump(exclude_unset=partial)
    if partial:
        return given
    defaults = {"title": "", "prompt": "", "negative_prompt": "", "loras": [], "params": {}, "tags": [], "notes": ""}
    return {k: (defaults.get(k) if v is None and k in defaults else v) for k, v in given.items()}


def lora_tag(lora: dict[str, Any]) -> str:
    """`<lora:name:weight>` as SDNext reads it; a text-encoder weight of its own as `<lora:name:te:unet>`
    (positional: the first weight is the text encoder's, the second the UNet's), block weights as named
    arguments."""
    weight = lora.get("weight", 1.0)
    weight = 1.0 if weight is None else weight
    te = lora.get("te")
    parts = [lora["name"]] + ([f"{te:g}", f"{weight:g}"] if te is not None and te != weight else [f"{weight:g}"])
    if lora.get("blocks"):
        parts.extend(p.strip() for p in str(lora["blocks"]).split(":") if p.strip())
    return "<lora:" + ":".join(parts) + ">"


def default_title(prompt: str, fallback: str = "Recipe") -> str:
    words = " ".join((prompt or "").replace("\n", " ").split())
    return (words[:60].rsplit(" ", 1)[0] if len(words) > 60 else words) or fallback
