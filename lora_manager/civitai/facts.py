"""Civitai's JSON -> the `civitai` object a LoRA's entry shows (docs/civitai.md). Pure functions.

Everything Civitai says is untrusted text: values are capped and typed with the sidecar readers'
helpers, descriptions come as plain text and as HTML reduced to a safe subset (nh3, a binding of the
Ammonia sanitiser). These facts sit beside the user's own fields and never replace them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..library.basemodel import family_of_label
from ..library.sidecar_values import (_base_label, _bool, _dict, _float, _id, _line, _list, _para, _words, html_to_text,
                                    image_level)

MAX_IMAGES = 20
MAX_EXAMPLES = 10
MAX_HTML = 100_000
LEVEL_LABELS = {1: "PG", 2: "PG13", 4: "R", 8: "X", 16: "XXX"}
SAFE_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "s", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
             "blockquote", "pre", "code", "hr", "a", "span"}


def pick_preview(images: Any, max_level: int) -> dict[str, Any] | None:
    """The first image or video at or below `max_level`; one whose rating is unknown only when any is allowed."""
    for image in _list(images, 200):
        if not isinstance(image, dict) or image.get("type", "image") not in ("image", "video"):
            continue
        url = image.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 2000:
            continue
        level = image_level(image)
        if (level <= max_level) if level is not None else max_level >= 16:
            return image
    return None


def safe_html(v: Any) -> str | None:
    """Civitai's HTML description reduced to text formatting and links (nh3): no scripts, styles,
    images, frames or event handlers; links open elsewhere and carry no referrer."""
    if not isinstance(v, str) or not v.strip():
        return None
    import nh3

    return nh3.clean(v[:MAX_HTML], tags=SAFE_TAGS, attributes={"a": {"href", "title"}},
                     url_schemes={"http", "https"}, link_rel="noopener noreferrer nofollow",
                     set_tag_attribute_values={"a": {"target": "_blank"}}) or None


def _example(image: dict[str, Any]) -> dict[str, Any] | None:
    """How an image was made, when the poster kept it: prompt, LoRAs with weights, sampler..."""
    meta = _dict(image.get("meta"))
    prompt = _para(meta.get("prompt"), 5000)
    if not prompt:
        return None
    loras = []
    for res in _list(meta.get("civitaiResources"), 50):
        if isinstance(res, dict) and str(res.get("type", "")).lower() in ("lora", "locon", "lycoris"):
            loras.append({"model_version_id": _id(res.get("modelVersionId")), "name": None,
                          "weight": _float(res.get("weight"))})
    for res in _list(meta.get("resources"), 50):
        if isinstance(res, dict) and str(res.get("type", "")).lower() in ("lora", "locon", "lycoris"):
            loras.append({"model_version_id": None, "name": _line(res.get("name"), 200),
                          "weight": _float(res.get("weight"))})
    return {
        "image_url": image.get("url") if isinstance(image.get("url"), str) else None,
        "prompt": prompt,
        "negative_prompt": _para(meta.get("negativePrompt"), 5000),
        "sampler": _line(meta.get("sampler"), 100),
        "steps": _id(meta.get("steps")),
        "cfg_scale": _float(meta.get("cfgScale")),
        "seed": _id(meta.get("seed")),
        "size": _line(meta.get("Size"), 20),
        "clip_skip": _id(meta.get("clipSkip")),
        "loras": loras[:20],
    }


def _iso(v: Any) -> str | None:
    return v.isoformat(timespec="seconds") if isinstance(v, datetime) else None


def _date(v: Any) -> str | None:
    """Civitai's ISO dates as given (2025-03-01T12:00:00.000Z), if they look like one."""
    s = _line(v, 40)
    return s if s and len(s) >= 10 and s[4] == "-" and s[:4].isdigit() else None


def civitai_object(record: dict[str, Any] | None, site_url: str) -> dict[str, Any] | None:
    """The entry's `civitai` object from a stored record ({lookup, version, model, fetched_at});
    None when the LoRA's hash was never looked up."""
    if record is None:
        return None
    lookup = record["lookup"]
    if lookup["status"] != "found" or not isinstance(record.get("version"), dict):
        return {"status": "not_found", "checked_at": _iso(lookup["checked_at"])}
    version: dict[str, Any] = record["version"]
    model = _dict(record.get("model"))
    vmodel = _dict(version.get("model"))
    model_id = _id(version.get("modelId")) or _id(model.get("id"))
    version_id = _id(version.get("id"))
    label = _base_label(version.get("baseModel"))
    images = [i for i in _list(version.get("images"), 200) if isinstance(i, dict)]
    examples = [e for e in (_example(i) for i in images) if e is not None]
    description = model.get("description") if model else None
    return {
        "status": "found",
        "checked_at": _iso(lookup["checked_at"]),
        "fetched_at": _iso(record.get("fetched_at")),
        "matched_by": lookup["matched_by"],
        "model_id": model_id,
        "version_id": version_id,
        "model_name": _line(model.get("name")) or _line(vmodel.get("name")),
        "version_name": _line(version.get("name")),
        "type": _line(model.get("type") or vmodel.get("type"), 40),
        "creator": _line(_dict(model.get("creator")).get("username"), 200)
        or _line(_dict(version.get("creator")).get("username"), 200),
        "base_model": label,
        "base_family": family_of_label(label) if label else None,
        "trained_words": _words(version.get("trainedWords")),
        "tags": _words(model.get("tags"), dict_key="name"),
        "description": html_to_text(description),
        "description_html": safe_html(description),
        "version_description": html_to_text(version.get("description")),
        "nsfw": _bool(model.get("nsfw") if "nsfw" in model else vmodel.get("nsfw")),
        "nsfw_level": _id(version.get("nsfwLevel")),
        "images": [{"url": i.get("url") if isinstance(i.get("url"), str) else None,
                    "type": i.get("type") if i.get("type") in ("image", "video") else "image",
                    "nsfw_level": image_level(i), "width": _id(i.get("width")), "height": _id(i.get("height"))}
                   for i in images[:MAX_IMAGES]],
        "examples": examples[:MAX_EXAMPLES],
        "published_at": _date(version.get("publishedAt")),
        "created_at": _date(version.get("createdAt")),
        "updated_at": _date(version.get("updatedAt")),
        "download_url": version.get("downloadUrl") if isinstance(version.get("downloadUrl"), str) else None,
        "page_url": f"{site_url}/models/{model_id}?modelVersionId={version_id}" if model_id and version_id else None,
    }


def trim_model(data: dict[str, Any]) -> dict[str, Any]:
    """A model response without its versions' files and images (those are each version's own record)."""
    out = dict(data)
    out["modelVersions"] = [{k: v for k, v in ver.items() if k not in ("files", "images")}
                            for ver in _list(data.get("modelVersions"), 1000) if isinstance(ver, dict)]
    return out
