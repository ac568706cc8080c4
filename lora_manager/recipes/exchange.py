"""Recipes shared: the JSON document (docs/recipes.md) and a PNG whose `lora-manager-recipe` text chunk
carries that document (its `parameters` chunk the infotext, so other tools read it too)."""

from __future__ import annotations

import io
from typing import Any

import orjson

from ..errors import InvalidInput
from .model import RecipeFields

FORMAT = "lora-manager-recipe"
VERSION = 1
MAX_DOCUMENT = 8 << 20
MAX_RECIPES = 1000
FIELDS = tuple(RecipeFields.model_fields)
LORA_FIELDS = ("name", "weight", "te", "unet", "blocks", "sha256", "tensor_sha256", "civitai_model_id",
               "civitai_version_id")


def portable(recipe: dict[str, Any]) -> dict[str, Any]:
    """A recipe as the document holds it: its fields, no ids, presence or dates of this library."""
    out = {k: recipe.get(k) for k in FIELDS if recipe.get(k) not in (None, "", [], {})}
    out["loras"] = [{k: lo.get(k) for k in LORA_FIELDS if lo.get(k) is not None} for lo in recipe.get("loras") or []]
    return out


def document(recipes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "recipes": [portable(r) for r in recipes]}


def to_json(recipes: list[dict[str, Any]]) -> bytes:
    return orjson.dumps(document(recipes), option=orjson.OPT_INDENT_2)


def parse_documents(raw: bytes | str) -> list[dict[str, Any]]:
    """The recipes of a document (each still to be validated); InvalidInput for anything else."""
    if len(raw) > MAX_DOCUMENT:
        raise InvalidInput(f"a recipe document of at most {MAX_DOCUMENT >> 20} MB")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"not a JSON document: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InvalidInput(f"not a recipe document: its \"format\" must be \"{FORMAT}\"")
    if not isinstance(doc.get("version"), int) or doc["version"] > VERSION:
        raise InvalidInput(f"recipe document version {doc.get('version')!r}: this LoRA Manager reads up to {VERSION}")
    recipes = doc.get("recipes")
    if not isinstance(recipes, list) or not recipes or not all(isinstance(r, dict) for r in recipes):
        raise InvalidInput("the document's \"recipes\" must be a non-empty list of objects")
    if len(recipes) > MAX_RECIPES:
        raise InvalidInput(f"at most {MAX_RECIPES} recipes in one document")
    return recipes


def parse_document(raw: bytes | str) -> dict[str, Any]:
    """The first recipe of a document (a PNG carries one)."""
    return parse_documents(raw)[0]


def to_png(recipe: dict[str, Any], cover: bytes | None, infotext: str) -> bytes:
    """The cover (or a plain tile) as a PNG carrying the recipe and its infotext."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    img = None
    if cover:
        try:
            img = Image.open(io.BytesIO(cover)).convert("RGB")
        except Exception:  # a damaged cover file: the recipe still exports
            img = None
    if img is None:
        img = Image.new("RGB", (256, 256), (40, 44, 52))
    info = PngInfo()
    info.add_itxt("parameters", infotext)
    info.add_itxt(FORMAT, to_json([recipe]).decode(), zip=True)
    buf = io.BytesIO()
    img.save(buf, "PNG", pnginfo=info)
    return buf.getvalue()
