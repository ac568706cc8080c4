"""One synthetic LoRA file with its companions, and whole generated libraries.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import random
import zlib
from dataclasses import dataclass
from functools import lru_cache

from .images import preview_bytes
from .meta import BASES, kohya_metadata, other_metadata, ssmd_metadata
from .sidecars import (
    BROKEN_EXT,
    BROKEN_KINDS,
    SIDECAR_SUFFIX,
    broken_bytes,
    html_description,
    sidecar_bytes,
)
from .tensors import (
    FAMILIES,
    LEGACY_END,
    LEGACY_START,
    build_tensors,
    fit_modules,
    header_bytes,
    layout,
    set_alphas,
    tensor_data,
)
from .words import Concept, make_concept

# --------------------------------------------------------------------------- one LoRA file

@dataclass(slots=True)
class Spec:
    """Everything that decides one LoRA file (its bytes come from `index` and the seed)."""
    index: int
    family: str
    label: str  # Civitai base-model label: SD 1.5, Pony, Illustrious, Flux.1 D ...
    sd_model: str  # ss_sd_model_name
    concept: Concept
    stem: str  # path relative to the root, "/"-separated, without ".safetensors"
    network: str = "lora"  # lora | locon | loha | lokr | dora | peft
    meta: str = "kohya"  # kohya | none | pt | aitk
    modelspec: bool = False
    ssmd: bool = False
    unet_only: bool = False
    dtype: str = "F16"
    budget: int = 200_000  # tensor-data bytes to aim at
    max_modules: int = 100
    sidecars: tuple[str, ...] = ()
    preview: str | None = None
    preview_size: int = 16  # PNG previews are preview_size x preview_size
    version: str = "v1.0"
    dup: str | None = None  # "exact" copy or "retag" (same tensors, other metadata) of `source`
    source: Spec | None = None
    broken: tuple[str, str] | None = None  # (kind, relative path) written beside this file


@dataclass(slots=True)
class Encoded:
    entries: dict
    data: bytearray
    metadata: dict | None
    tensor_sha256: str
    when: int  # training end, used as mtime


def _key(seed: int, index: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=8).digest(), "little")


def encode(seed: int, spec: Spec) -> Encoded:
    """Tensors, data and metadata of a spec; deterministic for (seed, spec.index)."""
    rng = random.Random(f"{seed}:{spec.index}:content")
    conv = spec.network == "locon" or (spec.network in ("loha", "lokr") and rng.random() < 0.4)
    rank, mods = fit_modules(spec.family, spec.network, spec.budget, rng, conv=conv, dtype=spec.dtype,
                             max_modules=spec.max_modules, unet_only=spec.unet_only)
    entries, total = layout(build_tensors(spec.family, "peft" if spec.network == "peft" else "kohya", mods,
                                          rank, spec.network, spec.dtype))
    data = tensor_data(total, _key(seed, spec.index))
    alpha = rng.choice((float(rank), rank / 2, 1.0))
    set_alphas(data, entries, alpha)
    tensor_sha = hashlib.sha256(data).hexdigest()
    when = rng.randrange(1_672_531_200, 1_748_736_000)  # 2023-01 .. 2025-06
    if spec.meta == "kohya":
        name = spec.stem.rpartition("/")[2]
        name = name[:-7] if name[-7:-6] == "-" and name[-6:].isdigit() else name
        meta = kohya_metadata(rng, spec.family, name, concept=spec.concept, network=spec.network, rank=rank,
                              alpha=alpha, conv=conv, model_hash=tensor_sha if rng.random() < 0.85 else None,
                              sd_model=spec.sd_model, label=spec.label, finished_at=when,
                              tag_bytes=rng.randrange(12_000, 28_000), modelspec=spec.modelspec, ssmd=spec.ssmd,
                              unet_only=spec.unet_only)
    else:
        meta = other_metadata(rng, spec.meta, spec.family, spec.concept, rank)
    return Encoded(entries, data, meta, tensor_sha, when)


def finish_header(enc: Encoded) -> tuple[bytes, str | None]:
    """Header bytes, with kohya's `sshs_legacy_hash` filled in when the file reaches 1 MiB + 64 KiB."""
    head = header_bytes(enc.entries, enc.metadata)
    if len(head) + len(enc.data) < LEGACY_END or len(head) > LEGACY_START:
        return head, None
    kohya = bool(enc.metadata) and "sshs_model_hash" in enc.metadata
    if kohya:
        enc.metadata["sshs_legacy_hash"] = "0" * 8  # same length: the header length does not move
        head = header_bytes(enc.entries, enc.metadata)
    view = memoryview(enc.data)[LEGACY_START - len(head): LEGACY_END - len(head)]
    legacy = hashlib.sha256(view).hexdigest()
    if kohya:
        enc.metadata["sshs_legacy_hash"] = legacy[:8]
        head = header_bytes(enc.entries, enc.metadata)
    return head, legacy


def _put(path: str, data: bytes, made: set[str], more: bytes | bytearray = b"") -> int:
    """Write `data + more` to `path`, creating its folder once; returns the size."""
    folder = os.path.dirname(path)
    if folder not in made:
        os.makedirs(folder, exist_ok=True)
        made.add(folder)
    with open(path, "wb") as f:
        f.write(data)
        if more:
            f.write(more)
    return len(data) + len(more)


def _bump(d: dict, key: str, n: int = 1) -> None:
    d[key] = d.get(key, 0) + n


def write_lora(root: str, seed: int, spec: Spec, stats: dict, made: set[str]) -> None:
    """Write the LoRA of `spec` with its sidecars, preview and broken sibling; count them in `stats`."""
    src = spec.source if spec.dup else spec
    enc = encode(seed, src)
    if spec.dup == "retag":  # someone edited the metadata: same tensor hash, other file hash
        enc.metadata = {**(enc.metadata or {}),
                        **ssmd_metadata(random.Random(f"{seed}:{spec.index}:retag"), spec.concept)}
    head, legacy = finish_header(enc)
    base_abs = os.path.join(root, *spec.stem.split("/"))
    path = base_abs + ".safetensors"
    size = _put(path, head, made, enc.data)
    os.utime(path, (enc.when, enc.when))
    stats["files"] += 1
    stats["bytes"] += size
    stats["lora_bytes"] += size
    stats["header_bytes"] += len(head)
    _bump(stats["families"], src.family)
    _bump(stats["networks"], src.network)
    _bump(stats["labels"], src.label)
    if spec.dup:
        _bump(stats["duplicates"], spec.dup)
    rng = random.Random(f"{seed}:{spec.index}:sidecars")
    preview_abs = None
    if spec.preview:
        preview_abs = f"{base_abs}.{spec.preview}"
        stats["bytes"] += _put(preview_abs, preview_bytes(spec.preview, rng, spec.preview_size), made)
        _bump(stats["previews"], spec.preview)
    bad_json = spec.broken is not None and spec.broken[0] == "bad_sidecar"
    kinds = [k for k in spec.sidecars if not (bad_json and SIDECAR_SUFFIX[k] == ".json")]
    if kinds:
        full = hashlib.sha256(head)
        full.update(enc.data)
        info = _sidecar_info(seed, spec, src, enc, rng, base_abs, preview_abs, size, full.hexdigest(),
                             zlib.crc32(enc.data, zlib.crc32(head)), legacy)
        for kind in kinds:
            stats["bytes"] += _put(base_abs + SIDECAR_SUFFIX[kind], sidecar_bytes(kind, info, rng), made)
            _bump(stats["sidecars"], kind)
    if spec.broken:
        kind, rel = spec.broken
        brng = random.Random(f"{seed}:{spec.index}:broken")
        stats["bytes"] += _put(os.path.join(root, *rel.split("/")), broken_bytes(kind, head + bytes(enc.data), brng),
                               made)
        stats["broken"] += 1
        _bump(stats["broken_kinds"], kind)
        stats["broken_paths"][rel] = kind


def _sidecar_info(seed, spec, src, enc, rng, base_abs, preview_abs, size, sha, crc, legacy) -> dict:
    c = src.concept
    ids = random.Random(f"{seed}:{src.index}:civitai")  # copies of one model share Civitai ids
    base = os.path.basename(base_abs)
    info = {"name": c.name, "version": src.version, "base": base, "file_name": base + ".safetensors",
            "family": src.family, "label": src.label, "triggers": c.triggers, "tags": c.tags,
            "description": c.description, "author": c.author, "model_id": ids.randrange(10**4, 10**6),
            "version_id": ids.randrange(10**4, 2 * 10**6),
            "created": _dt.datetime.fromtimestamp(enc.when, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "size": size, "sha256": sha, "tensor_sha256": enc.tensor_sha256, "crc32": crc, "legacy": legacy,
            "weight": rng.choice((0.0, 0.6, 0.7, 0.8, 1.0)),
            "clip_skip": 2 if src.family == "sd1" or src.label == "Pony" else 1,
            "abs_path": os.path.abspath(base_abs + ".safetensors").replace(os.sep, "/"),
            "preview_abs": os.path.abspath(preview_abs).replace(os.sep, "/") if preview_abs else None,
            "mtime": float(enc.when)}
    info["html"] = html_description(info, rng, hostile=rng.random() < 0.02)
    info["html_note"] = f"Trained on {src.label}. Trigger: {c.triggers[0]}"
    return info



# --------------------------------------------------------------------------- a whole library

@dataclass(frozen=True)
class Options:
    families: tuple[str, ...] = FAMILIES
    broken_ratio: float = 0.02
    sidecar_ratio: float = 0.6
    preview_ratio: float = 0.5
    data_bytes: int | None = None
    duplicate_ratio: float = 0.01


FAMILY_WEIGHTS = {"sd1": 30, "sd2": 4, "xl": 50, "f1": 16}
NETWORK_WEIGHTS = {"lora": 56, "locon": 10, "loha": 8, "lokr": 7, "dora": 5, "peft": 14}
FLUX_NETWORK_WEIGHTS = {"lora": 60, "lokr": 8, "dora": 5, "peft": 27}
TENSORS_PER_MODULE = {"lora": 3, "locon": 3, "loha": 5, "lokr": 4, "dora": 4, "peft": 2}
SIDECAR_BUNDLES = {("a1111",): 20, ("a1111", "txt"): 6, ("sdnext",): 8, ("sdnext", "description_txt"): 6,
                   ("civitai_info",): 12, ("civitai_info", "a1111"): 8, ("api_info", "a1111"): 6, ("comfy_lm",): 12,
                   ("comfy_lm", "civitai_info"): 6, ("cm_info",): 8, ("txt",): 4, ("description_txt",): 4}
PREVIEW_WEIGHTS = {"preview.png": 35, "png": 25, "thumb.jpg": 20, "example.1.jpg": 20}
KIND_DIR = {"character": "characters", "style": "styles", "artist": "artists", "clothing": "clothing",
            "object": "objects", "pose": "poses", "scene": "concepts"}
FAMILY_DIRS = {"sd1": ("sd15", "SD1.5"), "sd2": ("sd2",), "xl": ("xl", "SDXL"), "f1": ("flux", "FLUX.1")}
LABEL_TAGS = {"Pony": "pony", "Illustrious": "illustrious", "NoobAI": "noobai"}
FAMILY_TAGS = {"sd1": "sd15", "sd2": "sd21", "xl": "xl", "f1": "flux"}
UNICODE_DIRS = ("Künstler & Stile", "キャラクター", "Лоры")


def _pick_weighted(rng: random.Random, weights: dict, allowed=None):
    keys = [k for k in weights if allowed is None or k in allowed]
    return rng.choices(keys, [weights[k] for k in keys])[0]


def _folder(rng: random.Random, family: str, label: str, kind: str) -> str:
    fam, kd, x = LABEL_TAGS.get(label) or rng.choice(FAMILY_DIRS[family]), KIND_DIR[kind], rng.random()
    parts = ((kd,) if x < 0.3 else (kd, fam) if x < 0.55 else (fam, kd) if x < 0.75 else () if x < 0.88
             else (fam,) if x < 0.96 else (rng.choice(UNICODE_DIRS),))
    return "/".join(parts)


def _file_stem(rng: random.Random, c: Concept, family: str, label: str) -> str:
    s, v, x = c.slug, rng.randrange(1, 6), rng.random()
    tag = LABEL_TAGS.get(label) or FAMILY_TAGS[family]
    if not s.isascii():
        return c.name if x < 0.5 else f"{c.name} v{v}"
    return (f"{s}_v{v}" if x < 0.25 else f"{s}-{rng.randrange(1, 21):06d}" if x < 0.4 else f"{s}.v{v}" if x < 0.5
            else f"{c.name} v{v}" if x < 0.62 else f"{s}_{tag}" if x < 0.72 else f"{s}_{tag}_v{v}" if x < 0.8
            else f"{s}_v{v}.{rng.randrange(10)}" if x < 0.88 else s)


def _naming(seed: int, i: int, opts: Options) -> tuple[str, str, str, Concept, str]:
    rng = random.Random(f"{seed}:{i}:name")
    family = _pick_weighted(rng, FAMILY_WEIGHTS, opts.families)
    bases = BASES[family]
    label, sd_model, _ = rng.choices(bases, [b[2] for b in bases])[0]
    concept = make_concept(rng)
    folder = _folder(rng, family, label, concept.kind)
    stem = _file_stem(rng, concept, family, label)
    return family, label, sd_model, concept, f"{folder}/{stem}" if folder else stem


def _spec(seed: int, i: int, opts: Options, stem: str) -> Spec:
    family, label, sd_model, concept, _ = _naming(seed, i, opts)
    rng = random.Random(f"{seed}:{i}")
    network = _pick_weighted(rng, FLUX_NETWORK_WEIGHTS if family == "f1" else NETWORK_WEIGHTS)
    if network == "peft":
        meta = rng.choices(("none", "pt", "aitk" if family == "f1" else "pt"), (50, 30, 20))[0]
    else:
        meta = "kohya" if rng.random() < 0.94 else "none"
    mean = opts.data_bytes or 250_000
    spec = Spec(i, family, label, sd_model, concept, stem, network=network, meta=meta,
                modelspec=meta == "kohya" and rng.random() < 0.35, ssmd=meta == "kohya" and rng.random() < 0.12,
                unet_only=rng.random() < (0.85 if family == "f1" else 0.25),
                dtype=rng.choices(("F16", "BF16", "F32"), (65, 30, 5))[0],
                budget=max(1024, int(mean * rng.uniform(0.5, 1.5))),
                max_modules=rng.randrange(240, 340) // TENSORS_PER_MODULE[network],
                version=f"v{rng.randrange(1, 4)}.{rng.randrange(10)}")
    if rng.random() < opts.sidecar_ratio:
        spec.sidecars = _pick_weighted(rng, SIDECAR_BUNDLES)
    if rng.random() < opts.preview_ratio:
        spec.preview = _pick_weighted(rng, PREVIEW_WEIGHTS)
    if i > 0 and rng.random() < opts.duplicate_ratio:
        spec.dup = rng.choice(("exact", "retag"))
    return spec


def _unique(stem: str, used: set[str]) -> str:
    """A stem not used yet, case-insensitively (libraries move to case-insensitive disks)."""
    out, k = stem, 2
    while out.lower() in used:
        out, k = f"{stem}_{k}", k + 1
    used.add(out.lower())
    return out


@lru_cache(maxsize=4)
def _plan(seed: int, count: int, opts: Options) -> tuple[list[str], dict[int, tuple[str, str]]]:
    """Unique stems for every index, and the broken files (kind, path) by index.

    Computed whole by every worker so that any index range writes the same bytes.
    """
    used: set[str] = set()
    stems: list[str] = []
    broken: dict[int, tuple[str, str]] = {}
    nb = min(count, round(count * opts.broken_ratio))
    slots = {(j * count) // nb: j for j in range(nb)} if nb else {}
    for i in range(count):
        stems.append(_unique(_naming(seed, i, opts)[4], used))
        if i in slots:
            kind = BROKEN_KINDS[(slots[i] + seed) % len(BROKEN_KINDS)]
            if kind == "bad_sidecar":
                broken[i] = (kind, stems[-1] + ".json")
                continue
            brng = random.Random(f"{seed}:{i}:broken-name")
            folder = stems[-1].rpartition("/")[0]
            name = make_concept(brng).slug + brng.choice(("", "_v1", "_final", "-000004"))
            stem = _unique(f"{folder}/{name}" if folder else name, used)
            broken[i] = (kind, stem + BROKEN_EXT.get(kind, ".safetensors"))
    return stems, broken


def new_stats() -> dict:
    return {"files": 0, "broken": 0, "sidecars": {}, "previews": {}, "bytes": 0, "lora_bytes": 0,
            "header_bytes": 0, "duplicates": {}, "families": {}, "networks": {}, "labels": {},
            "broken_kinds": {}, "broken_paths": {}}


def merge_counts(a: dict, b: dict) -> dict:
    """Sum two stats dicts (nested counters add up, path maps merge)."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict):
            out[k] = merge_counts(a.get(k, {}), v)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = a.get(k, 0) + v
        else:
            out[k] = v
    return out


def generate_library(root: str, count: int, *, seed: int = 0, families=None, broken_ratio: float = 0.02,
                     sidecar_ratio: float = 0.6, preview_ratio: float = 0.5, data_bytes: int | None = None,
                     progress: bool = False, indices: range | None = None, duplicate_ratio: float = 0.01) -> dict:
    """Write `count` valid LoRA files under `root` (plus sidecars, previews, broken files).

    Deterministic for `seed`; `indices` writes only part of the library (for
    parallel workers) with the same bytes as a full run. `data_bytes` is the
    mean tensor-data size per file (default 250 KB); headers stay realistic.
    Returns counts: files, broken, sidecars / previews by kind, bytes ...
    """
    fams = tuple(families) if families else FAMILIES
    if not fams or any(f not in FAMILIES for f in fams):
        raise ValueError(f"families must be among {FAMILIES}, got {families!r}")
    opts = Options(fams, broken_ratio, sidecar_ratio, preview_ratio, data_bytes, duplicate_ratio)
    stems, broken = _plan(seed, count, opts)
    stats, made = new_stats(), set()
    todo = range(count) if indices is None else indices
    if progress:
        from tqdm import tqdm
        todo = tqdm(todo, unit="file", desc="synthetic LoRAs")
    for i in todo:
        spec = _spec(seed, i, opts, stems[i])
        spec.broken = broken.get(i)
        if spec.dup:
            spec.source = _spec(seed, i - 1, opts, stems[i - 1])
            if spec.source.dup:  # never a copy of a copy: that file's bytes are not its spec's
                spec.dup = spec.source = None
        write_lora(root, seed, spec, stats, made)
    return stats
