"""The `recipes` object of the core: made by hand, from an image, a recorded generation or a document;
listed with each LoRA's presence; exported; sent to the host; queued as a job.

Built by app.build with its store, the catalog (matching), the job queue and the loaded family
(warnings); covers are files in `<data dir>/recipe-covers`.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from ..errors import InvalidInput, NotFound
from ..storage.recipe_store import LoraFilter, RecipeStore
from . import exchange, handoff, matching
from .images import MAX_BYTES, open_image, read_texts, thumbnail
from .model import default_title, validate
from .parse import Parsed, parse_texts
from .parse.infotext import stack, strip_tags

COVER_DIR = "recipe-covers"
LORA_KEYS = ("name", "weight", "te", "unet", "blocks", "sha256", "tensor_sha256", "civitai_model_id",
             "civitai_version_id")


def fold_tags(prompt: str, loras: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """A recipe's prompt holds no `<lora:...>` tags: they leave it, and those of LoRAs the stack does not name
    join the stack (the stack's own entry wins). Sent or run, the stack's tags are added back once; a tag
    left in the prompt as well reached the host twice and applied the LoRA at twice its weight."""
    found = stack(prompt or "")
    if not found:
        return prompt, loras
    named = {lo["name"].lower() for lo in loras}
    extra = [lo for lo in found if lo["name"].lower() not in named]
    if extra:
        extra = validate({"loras": extra})["loras"]
    return strip_tags(prompt), list(loras) + extra


class Recipes:
    def __init__(self, store: RecipeStore, catalog, jobs, family, data_dir: str):
        self.store = store
        self.catalog = catalog
        self.jobs = jobs
        self.family = family  # () -> the host's loaded checkpoint family, or None
        self.covers = os.path.join(data_dir, COVER_DIR)

    # --- reading ---------------------------------------------------------------------------------
    def list(self, *, q: str | None = None, tag: str | None = None, lora: str | None = None, limit: int = 50,
             offset: int = 0) -> dict[str, Any]:
        flt = None
        if lora:
            entry = self.catalog.get(lora)  # NotFound names the key
            flt = LoraFilter(entry["prompt_name"], entry.get("sha256"), entry.get("tensor_sha256"))
        page = self.store.list(q=q, tag=tag, lora=flt, limit=limit, offset=offset)
        seen: dict = {}  # a LoRA shared by many recipes of the page is looked up once
        page["items"] = [self._shown(r, seen) for r in page["items"]]
        return page

    def get(self, recipe_id: int) -> dict[str, Any]:
        return self._shown(self._row(recipe_id))

    def _row(self, recipe_id: int) -> dict[str, Any]:
        row = self.store.get(recipe_id)
        if row is None:
            raise NotFound(f"no recipe {recipe_id}")
        return row

    def _shown(self, row: dict[str, Any], seen: dict | None = None) -> dict[str, Any]:
        out = dict(row)
        out["loras"] = matching.presence(self.catalog, row["loras"], seen)
        out["has_cover"] = bool(row.get("cover"))
        out.pop("cover", None)
        out["warnings"] = self._warnings(out)
        return out

    def _warnings(self, shown: dict[str, Any]) -> list[str]:
        family = self.family()
        out = []
        for lo in shown["loras"]:
            if lo.get("note"):
                out.append(f"{lo['name']}: {lo['note']}")
            elif not lo["present"]:
                where = f" (on Civitai: {lo['civitai_url']})" if lo.get("civitai_url") else ""
                state = f" ({lo['state']})" if lo.get("state") else ""
                out.append(f"{lo['name']} is not in the library{state}{where}")
            elif family and lo.get("base_model") and lo["base_model"] != family:
                out.append(f"{lo['prompt_name']} is for {lo['base_model']}, the loaded checkpoint is {family}")
        if family and shown.get("base_model") and shown["base_model"] != family:
            out.append(f"the recipe was made for {shown['base_model']}, the loaded checkpoint is {family}")
        return out

    def tags(self) -> list[dict[str, Any]]:
        return [{"tag": t, "count": n} for t, n in self.store.tags()]

    def cover_path(self, recipe_id: int) -> str:
        name = self._row(recipe_id).get("cover")
        path = os.path.join(self.covers, name) if name else None
        if not path or not os.path.isfile(path):
            raise NotFound("this recipe has no cover image")
        return path

    # --- writing ---------------------------------------------------------------------------------
    def create(self, data: dict[str, Any], *, source: str = "manual", cover: bytes | None = None) -> dict[str, Any]:
        values = validate(data)
        values["prompt"], values["loras"] = fold_tags(values["prompt"], values["loras"])
        values["loras"] = matching.settle(self.catalog, values["loras"])
        if not values.get("base_model"):
            values["base_model"] = self._stack_family(values["loras"])
        if not values["title"]:
            values["title"] = default_title(values["prompt"], fallback=values["loras"][0]["name"] if values["loras"]
                                            else "Recipe")
        values["source"] = source
        values["cover"] = self._save_cover(cover) if cover else None
        try:
            rid = self.store.create(values)
        except BaseException:
            self._drop_cover(values["cover"])
            raise
        return self.get(rid)

    def patch(self, recipe_id: int, data: dict[str, Any]) -> dict[str, Any]:
        values = validate(data, partial=True)
        if not values:
            raise InvalidInput("nothing to change: give at least one field")
        if values.get("prompt") and stack(values["prompt"]):
            known = values["loras"] if values.get("loras") is not None else [
                {k: lo.get(k) for k in LORA_KEYS} for lo in self.get(recipe_id)["loras"]]
            values["prompt"], values["loras"] = fold_tags(values["prompt"], known)
        if values.get("loras") is not None:
            values["loras"] = matching.settle(self.catalog, values["loras"])
        for key in ("title", "prompt", "negative_prompt", "notes"):
            if key in values and values[key] is None:
                values[key] = ""
        if "title" in values and not values["title"].strip():  # a recipe always has a title
            values["title"] = default_title(values.get("prompt") or self._row(recipe_id)["prompt"])
        if not self.store.update(recipe_id, values):
            raise NotFound(f"no recipe {recipe_id}")
        return self.get(recipe_id)

    def delete(self, recipe_id: int) -> dict[str, Any]:
        row = self.store.delete(recipe_id)
        if row is None:
            raise NotFound(f"no recipe {recipe_id}")
        self._drop_cover(row.get("cover"))
        return {"id": recipe_id, "deleted": True}

    def _stack_family(self, loras: list[dict[str, Any]]) -> str | None:
        families = {m["base_model"] for m in (matching.match(self.catalog, lo) for lo in loras)
                    if m["present"] and m["base_model"]}
        return families.pop() if len(families) == 1 else None

    def _save_cover(self, image: bytes) -> str:
        os.makedirs(self.covers, exist_ok=True)
        name = secrets.token_hex(12) + ".webp"
        tmp = os.path.join(self.covers, name + ".part")
        with open(tmp, "wb") as f:
            f.write(image)
        os.replace(tmp, os.path.join(self.covers, name))
        return name

    def _drop_cover(self, name: str | None) -> None:
        if name:
            try:
                os.unlink(os.path.join(self.covers, name))
            except FileNotFoundError:
                pass

    # --- made from ... ---------------------------------------------------------------------------
    def read_image(self, data: bytes) -> Parsed:
        """What an image says, without saving anything."""
        return parse_texts(read_texts(data).texts)

    def from_image(self, data: bytes, *, title: str | None = None, tags: list[str] | None = None,
                   max_bytes: int = MAX_BYTES) -> dict[str, Any]:
        texts = read_texts(data, max_bytes=max_bytes)
        parsed = parse_texts(texts.texts)
        fields = dict(parsed.fields)
        if title:
            fields["title"] = title
        if tags:
            fields["tags"] = tags
        cover = thumbnail(open_image(data, max_bytes=max_bytes))
        recipe = self.create(fields, source="image", cover=cover)
        recipe["dialect"], recipe["notes_read"] = parsed.dialect, parsed.notes
        return recipe

    def from_text(self, text: str, *, title: str | None = None, image: bytes | None = None) -> dict[str, Any]:
        """A recipe from generation parameters as text: an infotext (a job's result, a copied one) or just a
        prompt with its `<lora:...>` tags (the host's prompt box). `image`: the bytes of the job result's image
        (read by the caller from the results folder), made the cover; its own texts are not read."""
        from .parse.infotext import parse

        if not text.strip():
            raise InvalidInput("no text: give a prompt or generation parameters")
        cover = thumbnail(open_image(image)) if image is not None else None
        parsed = parse(text)
        fields = {**parsed.fields, **({"title": title} if title else {})}
        recipe = self.create(fields, source="result" if cover else "text", cover=cover)
        recipe["dialect"], recipe["notes_read"] = parsed.dialect, parsed.notes
        return recipe

    def from_event(self, event_id: int) -> dict[str, Any]:
        gen = self.store.generation(event_id)
        if gen is None:
            raise NotFound(f"no recorded generation {event_id}")
        prompt = gen.get("prompt") or ""
        loras = stack(prompt)
        if not loras:  # a prompt not recorded: the LoRAs the generation asked for
            loras = [{"name": lo["prompt_name"], "weight": lo["requested_weight"] if lo["requested_weight"]
                      is not None else 1.0} for lo in gen["loras"]]
        fields = {"prompt": strip_tags(prompt), "negative_prompt": strip_tags(gen.get("negative_prompt") or ""),
                  "loras": loras, "checkpoint": gen.get("checkpoint"), "base_model": gen.get("checkpoint_family"),
                  "sampler": gen.get("sampler"), "steps": gen.get("steps"), "width": gen.get("width"),
                  "height": gen.get("height"), "seed": gen.get("seed")}
        return self.create({k: v for k, v in fields.items() if v is not None}, source="event")

    def import_(self, data: bytes) -> dict[str, Any]:
        """A JSON document or a PNG carrying one: every recipe checked before any is saved."""
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            texts = read_texts(data).texts
            if "lora-manager-recipe" not in texts:
                raise InvalidInput("this PNG carries no recipe (no 'lora-manager-recipe' chunk): use from-image to "
                                   "read its generation parameters")
            docs, cover = [exchange.parse_document(texts["lora-manager-recipe"])], thumbnail(open_image(data))
        else:
            docs, cover = exchange.parse_documents(data), None
        for i, doc in enumerate(docs):
            try:
                validate(doc)
            except InvalidInput as exc:
                raise InvalidInput(f"recipe {i + 1} of the document: {exc.message}", exc.details) from None
        made = [self.create(doc, source="import", cover=cover if i == 0 else None) for i, doc in enumerate(docs)]
        return {"imported": len(made), "recipes": made}

    def export(self, recipe_id: int | None, fmt: str) -> tuple[str, bytes, str]:
        """(media type, body, file name) of one recipe, or of all of them (JSON only)."""
        if recipe_id is None:
            rows = self.store.list(limit=500)["items"]
            offset = len(rows)
            while offset < self.store.list(limit=1)["total"]:
                more = self.store.list(limit=500, offset=offset)["items"]
                if not more:
                    break
                rows += more
                offset += len(more)
            return "application/json", exchange.to_json(rows), "recipes.json"
        row = self._row(recipe_id)
        base = f"recipe-{recipe_id}"
        if fmt == "json":
            return "application/json", exchange.to_json([row]), base + ".json"
        if fmt != "png":
            raise InvalidInput("export format is json or png")
        cover = None
        if row.get("cover"):
            try:
                with open(os.path.join(self.covers, row["cover"]), "rb") as f:
                    cover = f.read()
            except OSError:
                cover = None
        return "image/png", exchange.to_png(row, cover, handoff.infotext(row)), base + ".png"

    # --- used ------------------------------------------------------------------------------------
    def send(self, recipe_id: int) -> dict[str, Any]:
        """What the host's tab takes: the infotext its paste button reads, and the parts, with warnings."""
        shown = self.get(recipe_id)
        names = {i: lo["prompt_name"] for i, lo in enumerate(shown["loras"]) if lo["present"]}
        return {"id": recipe_id, "infotext": handoff.infotext(shown, names),
                "prompt": handoff.full_prompt(shown, names), "negative_prompt": shown.get("negative_prompt") or "",
                "settings": {k: shown.get(k) for k in ("steps", "sampler", "scheduler", "cfg_scale", "seed", "width",
                                                        "height", "checkpoint")},
                "warnings": shown["warnings"]}

    def run(self, recipe_id: int) -> dict[str, Any]:
        shown = self.get(recipe_id)
        ids = [lo["lora_id"] if lo["present"] else None for lo in shown["loras"]]
        job = handoff.submit(self.jobs, shown, ids)
        warnings = list(dict.fromkeys([*shown["warnings"], *job.warnings]))
        return {"id": job.id, "status": job.status, "recipe_id": recipe_id, "warnings": warnings}
