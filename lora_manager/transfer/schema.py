"""The export format, declared once: pydantic models validate what an archive holds, and their JSON
Schema is what docs/export-schema.json publishes (a test keeps the two equal).

pydantic rather than `jsonschema`: it is already a dependency (FastAPI), it validates in its compiled
core (1M usage lines in seconds, not minutes), and one declaration gives both the checks and the schema.
Every object refuses keys it does not know: a shape we did not write is refused, not half read.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..catalog.userdata import MAX_NOTES, MAX_TAG, MAX_TAGS, MAX_TRIGGERS, WEIGHT_LIMIT
from ..recipes.model import MAX_LORAS as MAX_RECIPE_LORAS, RecipeFields, RecipeLora

FORMAT = "lora-manager-export"
VERSION = 1
PARTS = ("userdata", "collections", "recipes", "usage", "settings")
MAX_LORAS = 2_000_000
MAX_RECIPES = 200_000
COVER_MEMBER = r"^recipe-covers/\d{1,6}\.webp$"

Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Ref = Annotated[int, Field(ge=0, lt=MAX_LORAS, description="index into loras.json")]
Text = Annotated[str, Field(max_length=MAX_NOTES, pattern=r"^[^\x00]*$")]
Line = Annotated[str, Field(max_length=4096, pattern=r"^[^\x00]*$")]
Name = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]*$")]
When = Annotated[str, Field(max_length=40, pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?$",
                            description="ISO 8601; UTC when no zone is given")]
Weight = Annotated[float, Field(ge=-WEIGHT_LIMIT, le=WEIGHT_LIMIT)]
Count = Annotated[int, Field(ge=0, lt=2**31)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Manifest(Strict):
    """manifest.json: what the archive holds."""

    format: Literal["lora-manager-export"]
    version: Literal[1]
    created: When
    app_version: Line
    parts: list[Literal["userdata", "collections", "recipes", "usage", "settings"]] = Field(max_length=len(PARTS))
    counts: dict[Annotated[str, Field(max_length=40)], Count] = Field(default_factory=dict, max_length=20)
    previews: bool = False


class LoraRef(Strict):
    """One LoRA as the source library knew it: enough for another machine to find its copy."""

    ref: Ref
    sha256: Optional[Hex64] = Field(None, description="full-file SHA-256 (AutoV2 is its first 10 hex)")
    tensor_sha256: Optional[Hex64] = Field(None,
                                           description="SHA-256 of the tensor bytes (unchanged by metadata edits)")
    autov2: Optional[Annotated[str, Field(pattern=r"^[0-9a-f]{10}$")]] = None
    path: Line = Field(description="absolute path on the source machine")
    relative_path: Optional[Line] = Field(None, description="path below its library root, with / separators")
    file_name: Name
    prompt_name: Name
    size: Optional[Annotated[int, Field(ge=0)]] = None
    state: Annotated[str, Field(max_length=16)]


class LorasDoc(Strict):
    """loras.json: every LoRA the other parts refer to, by `ref`."""

    format: Literal["lora-manager-export/loras"]
    version: Literal[1]
    loras: list[LoraRef] = Field(max_length=MAX_LORAS)


class Feedback(Strict):
    user: Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")]
    accepts: Count = 0
    dismisses: Count = 0
    downs: Count = 0
    updated_at: Optional[When] = None


class UserData(Strict):
    """What the user said about one LoRA (the fields of `edit`), and recommendation feedback."""

    lora: Ref
    favorite: bool = False
    rating: Optional[Annotated[int, Field(ge=0, le=5)]] = None
    notes: Optional[Text] = None
    triggers: Optional[list[Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")]]] = Field(
        None, max_length=MAX_TRIGGERS, description="null: the extracted trigger words apply")
    preferred_weight: Optional[Weight] = None
    weight_min: Optional[Weight] = None
    weight_max: Optional[Weight] = None
    negative_text: Optional[Text] = None
    base_override: Optional[Annotated[str, Field(max_length=32)]] = None
    display_name: Optional[Annotated[str, Field(max_length=300, pattern=r"^[^\x00]*$")]] = Field(
        None, description="the user's own name for it (absent in older exports)")
    tags: list[Annotated[str, Field(max_length=MAX_TAG, pattern=r"^[^\x00]*$")]] = Field(
        default_factory=list, max_length=MAX_TAGS
    )
    updated_at: Optional[When] = None
    feedback: list[Feedback] = Field(default_factory=list, max_length=1000)


class UserDataDoc(Strict):
    format: Literal["lora-manager-export/userdata"]
    version: Literal[1]
    items: list[UserData] = Field(max_length=MAX_LORAS)


class CollectionOut(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
    created_at: Optional[When] = None
    loras: list[Ref] = Field(max_length=MAX_LORAS)


class CollectionsDoc(Strict):
    format: Literal["lora-manager-export/collections"]
    version: Literal[1]
    collections: list[CollectionOut] = Field(max_length=100_000)


class ArchiveRecipeLora(RecipeLora):
    """One LoRA of a recipe's stack, as the recipe document has it (docs/recipes.md): by name, weights and
    the full-file and tensor hashes that find it in another library."""

    model_config = ConfigDict(extra="forbid")


class ArchiveRecipe(RecipeFields):
    """One recipe: the fields of the recipe document (docs/recipes.md, the same limits), when it was made, and
    its cover's member in the archive."""

    model_config = ConfigDict(extra="forbid")

    loras: Optional[list[ArchiveRecipeLora]] = Field(None, max_length=MAX_RECIPE_LORAS)
    created_at: Optional[When] = Field(None, description="when it was made: with the fields, how a second import "
                                                         "knows it")
    cover: Optional[Annotated[str, Field(pattern=COVER_MEMBER)]] = Field(
        None, description="its cover image, a WebP member of the archive (recipe-covers/<n>.webp)")

    @model_validator(mode="after")
    def _no_nul(self) -> ArchiveRecipe:
        stack: list[Any] = [self.model_dump()]
        while stack:
            item = stack.pop()
            if isinstance(item, str) and "\x00" in item:
                raise ValueError("text with a NUL character")
            if isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
        return self


class RecipesDoc(Strict):
    """recipes.json: every recipe of the library, each as the recipe document writes it."""

    format: Literal["lora-manager-export/recipes"]
    version: Literal[1]
    recipes: list[ArchiveRecipe] = Field(max_length=MAX_RECIPES)


class SettingsDoc(Strict):
    """The source's settings, secrets left out (API key, database password). Shown on import, never applied:
    settings come from flags and the environment."""

    format: Literal["lora-manager-export/settings"]
    version: Literal[1]
    settings: dict[Annotated[str, Field(max_length=64)], Any] = Field(max_length=100)


class UsageHeader(Strict):
    """usage.jsonl, first line; then one Generation per line."""

    format: Literal["lora-manager-export/usage"]
    version: Literal[1]
    count: Annotated[int, Field(ge=0)]


class UsedLora(Strict):
    position: Annotated[int, Field(ge=0, lt=10_000)]
    prompt_name: Name
    lora: Optional[Ref] = None
    requested_weight: Optional[float] = None
    requested_te: Optional[float] = None
    requested_unet: Optional[float] = None
    schedule: Optional[Line] = None
    applied: bool = False
    applied_te: Optional[float] = None
    applied_unet: Optional[float] = None
    status: Literal["applied", "not_found", "skipped", "not_applied"]


class Generation(Strict):
    started_at: When
    finished_at: Optional[When] = None
    duration_ms: Optional[Annotated[int, Field(ge=0, lt=2**31)]] = None
    outcome: Literal["done", "interrupted", "failed"]
    source: Optional[Annotated[str, Field(max_length=32)]] = None
    checkpoint: Optional[Line] = None
    checkpoint_family: Optional[Annotated[str, Field(max_length=32)]] = None
    seed: Optional[Annotated[int, Field(ge=-(2**63), lt=2**63)]] = None
    steps: Optional[Annotated[int, Field(ge=0, lt=2**31)]] = None
    width: Optional[Annotated[int, Field(ge=0, lt=2**31)]] = None
    height: Optional[Annotated[int, Field(ge=0, lt=2**31)]] = None
    sampler: Optional[Annotated[str, Field(max_length=64)]] = None
    prompt: Optional[Text] = None
    negative_prompt: Optional[Text] = None
    error: Optional[Text] = None
    loras: list[UsedLora] = Field(default_factory=list, max_length=1000)


# member name -> model of its JSON document
DOCUMENTS: dict[str, type[BaseModel]] = {
    "manifest.json": Manifest, "loras.json": LorasDoc, "userdata.json": UserDataDoc,
    "collections.json": CollectionsDoc, "recipes.json": RecipesDoc, "settings.json": SettingsDoc,
}


def json_schema() -> dict[str, Any]:
    """The published schema (docs/export-schema.json): one definition per member."""
    from pydantic import TypeAdapter

    models = {**{name: model for name, model in DOCUMENTS.items()}, "usage.jsonl (first line)": UsageHeader,
              "usage.jsonl (every further line)": Generation}
    defs: dict[str, Any] = {}
    members: dict[str, Any] = {}
    for member, model in models.items():
        schema = TypeAdapter(model).json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        defs[model.__name__] = schema
        members[member] = {"$ref": f"#/$defs/{model.__name__}"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "LoRA Manager export archive, format version 1",
        "description": "A zip archive: each member below is one JSON document (usage.jsonl: JSON lines). "
                       "Previews, when included, are previews/<ref>/<suffix> (the file name after the LoRA's base); "
                       "recipe covers are recipe-covers/<n>.webp. "
                       "See docs/transfer.md.",
        "x-members": members,
        "$defs": dict(sorted(defs.items())),
    }
