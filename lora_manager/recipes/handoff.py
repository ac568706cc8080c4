"""A recipe handed to the host: the infotext its paste button reads (SDNext's `Restore`, A1111's paste:
the prompt box holds the text, the button parses it into every field the tab has), and the job of the
queue. `submit` is the one place a recipe becomes a job: a later img2img/control job plugs in there."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInput
from ..jobs.queue import JobRequest, validate_request
from .model import lora_tag


def _quote(value: Any) -> str:
    text = str(value).replace("\n", " ")
    if "," in text or ":" in text or '"' in text:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def full_prompt(recipe: dict[str, Any], names: dict[int, str] | None = None) -> str:
    """The prompt with the stack's `<lora:...>` tags (each named as the library's entry resolves it)."""
    tags = []
    for i, lora in enumerate(recipe.get("loras") or []):
        name = (names or {}).get(i) or lora["name"]
        tags.append(lora_tag({**lora, "name": name}))
    prompt = (recipe.get("prompt") or "").strip()
    return " ".join(p for p in [prompt, " ".join(tags)] if p).strip()


def infotext(recipe: dict[str, Any], names: dict[int, str] | None = None) -> str:
    """SDNext/A1111 generation parameters: what the host's paste mechanism reads into its tab."""
    lines = [full_prompt(recipe, names)]
    if recipe.get("negative_prompt"):
        lines.append("Negative prompt: " + recipe["negative_prompt"].strip())
    pairs: list[tuple[str, Any]] = []
    for key, name in (("steps", "Steps"), ("sampler", "Sampler"), ("scheduler", "Schedule type"),
                      ("cfg_scale", "CFG scale"), ("seed", "Seed")):
        if recipe.get(key) not in (None, ""):
            value = recipe[key]
            pairs.append((name, f"{value:g}" if isinstance(value, float) else value))
    if recipe.get("width") and recipe.get("height"):
        pairs.append(("Size", f"{recipe['width']}x{recipe['height']}"))
    if recipe.get("checkpoint_hash"):
        pairs.append(("Model hash", recipe["checkpoint_hash"][:10]))
    if recipe.get("checkpoint"):
        pairs.append(("Model", recipe["checkpoint"]))
    for key, value in (recipe.get("params") or {}).items():
        if value not in (None, "") and key not in {k for k, _ in pairs}:
            pairs.append((key, value))
    hashes = [f"{lo['name']}: {lo['tensor_sha256'][:12]}" for lo in recipe.get("loras") or []
              if lo.get("tensor_sha256")]
    if hashes:
        pairs.append(("Lora hashes", ", ".join(hashes)))
    if pairs:
        lines.append(", ".join(f"{k}: {_quote(v)}" for k, v in pairs))
    return "\n".join(lines)


def job_request(recipe: dict[str, Any], lora_ids: list[int | None]) -> JobRequest:
    """The queue's request for a recipe: its settings within what a job accepts (InvalidInput otherwise)."""
    missing = [lo["name"] for lo, lid in zip(recipe.get("loras") or [], lora_ids, strict=True) if lid is None]
    if missing:
        raise InvalidInput("the recipe's LoRAs " + ", ".join(missing) + " are not in the library: it cannot run",
                           {"missing": missing})
    width, height = recipe.get("width") or 512, recipe.get("height") or 512
    data: dict[str, Any] = {
        "prompt": (recipe.get("prompt") or "")[:10_000],
        "negative_prompt": (recipe.get("negative_prompt") or "")[:10_000],
        "loras": [{"name": str(lid), "weight": lo.get("weight", 1.0)}
                  for lo, lid in zip(recipe.get("loras") or [], lora_ids, strict=True)],
        "steps": recipe.get("steps") or 20, "width": width, "height": height,
        "seed": recipe["seed"] if recipe.get("seed") is not None else -1,
        "cfg_scale": recipe["cfg_scale"] if recipe.get("cfg_scale") is not None else 6.0,
        "sampler": recipe.get("sampler") or None,
    }
    problems = []
    if not 1 <= data["steps"] <= 150:
        problems.append(f"steps {data['steps']} (a job runs 1..150)")
    if not (64 <= width <= 4096 and 64 <= height <= 4096) or width % 8 or height % 8:
        problems.append(f"size {width}x{height} (a job's sides are 64..4096, multiples of 8)")
    if not 0 <= data["cfg_scale"] <= 30:
        problems.append(f"CFG {data['cfg_scale']:g} (a job takes 0..30)")
    if not -1 <= data["seed"] <= 2**32 - 1:
        problems.append(f"seed {data['seed']} (a job takes -1..2^32-1)")
    if problems:
        raise InvalidInput("the recipe cannot run as a job: " + "; ".join(problems) + " - edit it first")
    return validate_request(data)


def submit(jobs, recipe: dict[str, Any], lora_ids: list[int | None]):
    """Queue the recipe as a txt2img job (the queue's own checks and warnings apply); the Job."""
    return jobs.submit(job_request(recipe, lora_ids))
