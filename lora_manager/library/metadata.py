"""Normalise `__metadata__` (kohya `ss_*`, `modelspec.*`, `ssmd_*`) and sidecars into LoraFacts.

Everything here is untrusted text: wrong types and bad JSON are tolerated,
sizes are capped, nothing raises.
"""

from __future__ import annotations

import math

import re
from operator import itemgetter
from typing import Any
from collections.abc import Iterable


from .basemodel import detect_base
from .clock import iso_from_unix
from .cover import cover_mime
from .network import detect_network
from .records import Header, LoraFacts, Preview, SidecarFacts
from .sidecar_values import loads_or_none
from .tensor_names import TensorNames

MAX_TEXT = 20_000
MAX_VALUE = 4_096  # per metadata value kept for display
TOP_TRAINING_TAGS = 50
# Values that are large and summarised elsewhere: kept out of the stored metadata.
BULKY_KEYS = {"ss_tag_frequency", "modelspec.thumbnail", "ssmd_cover_images", "ss_bucket_info"}
_HEX64 = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
_REPEATS_DIR = re.compile(r"^\d+_(.+)$")




def _clean(text: Any, cap: int = MAX_TEXT) -> str | None:
    if not isinstance(text, str):
        return None
    text = text.strip()
    return text[:cap] if text else None


def split_words(text: Any) -> list[str]:
    """Split a comma-separated trigger/keyword string."""
    if not isinstance(text, str):
        return []
    return [w.strip() for w in text.split(",") if w.strip() and len(w.strip()) <= 200]


def dedupe(items: Iterable[str], cap: int = 200) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        key = item.casefold()
        if key not in seen:
            seen.add(key)
            out.append(item)
            if len(out) >= cap:
                break
    return out


def _iso_from_unix(value: Any) -> str | None:
    try:
        ts = float(value)
    except (TypeError, ValueError):
        return None
    if not 0 < ts < 32503680000:  # before year 3000
        return None
    return iso_from_unix(ts)


def _resolution(meta: dict[str, str]) -> str | None:
    raw = meta.get("ss_resolution") or meta.get("modelspec.resolution")
    if not raw:
        return None
    nums = re.findall(r"\d+", raw)[:2]
    if len(nums) == 2:
        return f"{nums[0]}x{nums[1]}"
    if len(nums) == 1:
        return f"{nums[0]}x{nums[0]}"
    return None


def training_tags(meta: dict[str, str]) -> list[tuple[str, int]]:
    """Top tags of `ss_tag_frequency` ({dataset_dir: {tag: count}}), merged over dirs.

    This runs for every file and the JSON holds thousands of tags, so the
    merge stays a tight loop and cleaning (strip, length cap) is applied only
    to the best candidates. kohya wrote tags with a leading space in some
    versions; stripped duplicates are merged among the candidates.
    """
    freq = loads_or_none(meta.get("ss_tag_frequency"))
    if not isinstance(freq, dict):
        return []
    dirs = [tags for tags in freq.values() if isinstance(tags, dict)]
    keep = TOP_TRAINING_TAGS * 4
    try:
        # Fast path: C-level dict copy and sort; the common file has 1-3
        # dataset folders and ~500 tags each.
        totals = dict(dirs[0]) if dirs else {}
        get = totals.get
        for tags in dirs[1:]:
            for tag, count in tags.items():
                totals[tag] = get(tag, 0) + count
        best = sorted(totals.items(), key=itemgetter(1), reverse=True)[:keep]
    except TypeError:  # counts that are not numbers: keep only the numeric ones
        totals = {}
        for tags in dirs:
            for tag, count in tags.items():
                if type(count) in (int, float) and not math.isnan(count) and abs(count) < 1e12:
                    totals[tag] = totals.get(tag, 0) + int(count)
        best = sorted(totals.items(), key=itemgetter(1), reverse=True)[:keep]
    merged: dict[str, int] = {}
    for tag, count in best:
        if type(count) is not int:
            if type(count) is not float or math.isnan(count) or abs(count) > 1e12:
                continue
            count = int(count)
        tag = tag.strip()
        if tag and len(tag) <= 200:
            merged[tag] = merged.get(tag, 0) + count
    ranked = sorted(merged.items())  # by tag, then (stable) by count, highest first
    ranked.sort(key=itemgetter(1), reverse=True)
    return ranked[:TOP_TRAINING_TAGS]


def class_tokens(meta: dict[str, str]) -> list[str]:
    """kohya dataset class tokens: the words the LoRA was trained to answer to."""
    words: list[str] = []
    datasets = loads_or_none(meta.get("ss_datasets"))
    if isinstance(datasets, list):
        for ds in datasets:
            subsets = ds.get("subsets") if isinstance(ds, dict) else None
            for sub in subsets if isinstance(subsets, list) else ():
                if isinstance(sub, dict) and isinstance(sub.get("class_tokens"), str):
                    words.extend(split_words(sub["class_tokens"]))
    if not words:
        # Older kohya runs: dataset folders are named "<repeats>_<tokens>".
        dirs = loads_or_none(meta.get("ss_dataset_dirs"))
        if isinstance(dirs, dict):
            for name in dirs:
                m = _REPEATS_DIR.match(str(name).strip())
                if m:
                    words.append(m.group(1).strip())
    return words


def trimmed_metadata(meta: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in meta.items():
        if key in BULKY_KEYS:
            out[key] = f"<{len(value)} characters, summarised>"
        else:
            out[key[:200]] = value if len(value) <= MAX_VALUE else value[:MAX_VALUE] + "…"
    return out


def _first(*values: Any) -> str | None:
    for v in values:
        c = _clean(v)
        if c:
            return c
    return None


def _sidecar_values(sidecars: list[SidecarFacts], attr: str) -> list[Any]:
    return [getattr(s, attr) for s in sidecars if s.error is None and getattr(s, attr) not in (None, [], "")]


def normalise(header: Header | None, sidecars: list[SidecarFacts], previews: list[Preview],
              file_name: str, *, training: bool = True) -> LoraFacts:
    """`training` False: the training tags and the stored metadata are left for later (None and {};
    sync/training.py reads them after a large scan, off the index's path)."""
    meta = header.metadata if header else {}
    tensors = header.tensors if header else {}
    good = [s for s in sidecars if s.error is None]
    facts = LoraFacts(sidecars=sidecars, previews=previews)
    facts.title = _first(meta.get("ssmd_display_name"), meta.get("modelspec.title"), *_sidecar_values(good, "title"))
    facts.alias = _clean(meta.get("ss_output_name"), 500)
    names = TensorNames(tensors)  # summarised at most once, for whichever of the two asks first
    facts.network_type, facts.rank, facts.alpha = detect_network(meta, names)
    facts.base = detect_base(meta, names, good, file_name)
    facts.description = _first(
        meta.get("modelspec.description"), meta.get("ssmd_description"), *_sidecar_values(good, "description"),
        meta.get("ss_training_comment"),
    )
    facts.author = _first(meta.get("modelspec.author"), meta.get("ssmd_author"), *_sidecar_values(good, "author"))
    facts.trained_started = _iso_from_unix(meta.get("ss_training_started_at"))
    facts.trained_finished = (_iso_from_unix(meta.get("ss_training_finished_at"))
                              or _clean(meta.get("modelspec.date"), 64))
    facts.resolution = _resolution(meta)
    facts.cover_mime = cover_mime(meta)
    sshs = meta.get("sshs_model_hash", "")
    facts.header_hash = sshs.lower().removeprefix("0x") if _HEX64.match(sshs) else None
    triggers = split_words(meta.get("modelspec.trigger_phrase")) + split_words(meta.get("ssmd_keywords"))
    triggers += class_tokens(meta)
    for s in good:
        triggers += s.triggers
    facts.triggers = dedupe(triggers)
    facts.training_tags = training_tags(meta) if training else None
    tags = split_words(meta.get("modelspec.tags")) + split_words(meta.get("ssmd_tags"))
    for s in good:
        tags += s.tags
    facts.source_tags = dedupe(t.lower() for t in tags)
    if training:
        facts.metadata = trimmed_metadata(meta)
    for attr in ("preferred_weight", "weight_min", "weight_max", "negative_text"):
        values = _sidecar_values(good, attr)
        if values:
            facts.suggested[attr] = values[0]
    # The preview's rating (the tab blurs above the user's level): the highest a sidecar gives; a model
    # only flagged NSFW counts as R (4), one flagged safe as PG (1).
    levels = [s.nsfw_level or (4 if s.nsfw else 1 if s.nsfw is False else None) for s in good]
    if any(levels):
        facts.suggested["nsfw_level"] = max(v for v in levels if v)
    return facts
