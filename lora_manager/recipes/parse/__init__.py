"""Generation text in every dialect we read, to one `Parsed` (the recipe's fields, as found).

`infotext.py` SDNext and A1111 parameters (the same text with different LoRA fields), `civitai.py`
Civitai's additions to it (`Hashes`, `Civitai resources`), `comfy.py` ComfyUI's `prompt` (API graph)
and `workflow` (UI graph). `parse_texts` picks by what an image carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidInput


@dataclass(slots=True)
class Parsed:
    dialect: str  # sdnext | a1111 | civitai | comfyui | lora-manager
    fields: dict[str, Any] = field(default_factory=dict)  # recipe fields (model.RecipeFields' names)
    notes: list[str] = field(default_factory=list)  # what could not be read, for the person


class NoParameters(InvalidInput):
    code = "no_parameters"


def parse_texts(texts: dict[str, str]) -> Parsed:
    """The recipe an image's texts describe (images.read_texts' keys); NoParameters when none does."""
    from . import comfy, infotext

    if texts.get("lora-manager-recipe"):
        from ..exchange import parse_document

        return Parsed("lora-manager", parse_document(texts["lora-manager-recipe"]))
    if texts.get("parameters"):
        return infotext.parse(texts["parameters"])
    if texts.get("prompt") or texts.get("workflow"):
        return comfy.parse(texts.get("prompt"), texts.get("workflow"))
    raise NoParameters("the image carries no generation parameters (no PNG 'parameters', ComfyUI 'prompt' or "
                       "'workflow' chunk, no EXIF UserComment): it was saved without them or they were stripped")
