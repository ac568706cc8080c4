"""Realistic synthetic LoRA libraries for the `--demo` flag, tests and benchmarks.

Files are real safetensors (8-byte little-endian header length, JSON header
padded with spaces to a multiple of 8, tensor data) with kohya / LyCORIS /
PEFT tensor names whose shapes match their base family (sd1, sd2, xl, f1),
kohya `ss_*` metadata (`sshs_model_hash` is the true tensor-data SHA-256),
sidecars in every dialect of docs FORMATS.md, previews, and a few broken
files. No torch; tensor bytes come from a masked random pool (every float
finite, |x| < 2) mixed with a per-file key, so each file hashes differently.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import os
import random
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache

import orjson

# Re-exported: the metadata builders and sidecar helpers are part of this module's public API.
from .synthetic_sidecars import (BASES, BROKEN_EXT, BROKEN_KINDS, PREVIEW_KINDS, SIDECAR_SUFFIX,  # noqa: F401
                                 Concept, broken_bytes, html_description, kohya_metadata, make_concept,
                                 modelspec_metadata, other_metadata, preview_bytes, quick_sample, sidecar_bytes,
                                 ssmd_metadata, tag_frequency)

DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
               "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}
FAMILIES = ("sd1", "sd2", "xl", "f1")
NETWORKS = ("lora", "locon", "loha", "lokr", "dora", "peft")
RANKS = (1, 2, 4, 8, 16, 32, 64, 128)
LEGACY_START, LEGACY_END = 0x100000, 0x110000

# --------------------------------------------------------------------------- safetensors bytes

_MASK = bytes(b & 0xBF for b in range(256))  # clears the top exponent bit of a float's high byte


@lru_cache(maxsize=1)
def _pool() -> bytes:
    """1 MiB of random bytes; odd bytes masked so F16/BF16/F32/F64 values are finite and small."""
    raw = bytearray(random.Random(0x5AFE).randbytes(1 << 20))
    raw[1::2] = raw[1::2].translate(_MASK)
    return bytes(raw)


def tensor_data(n: int, key: int, fill: bytes | None = None) -> bytearray:
    """`n` bytes of tensor data: the pool from a key-dependent offset, first 32 bytes keyed."""
    if fill is not None:
        return bytearray((fill * (n // max(1, len(fill)) + 1))[:n]) if fill else bytearray(n)
    pool = _pool()
    start = (key * 2654435761) % (len(pool) // 2) & ~7
    out = bytearray(pool[start:start + n])
    while len(out) < n:
        out += pool[: n - len(out)]
    mix = bytearray(hashlib.blake2b(key.to_bytes(16, "little", signed=True), digest_size=32).digest())
    mix[1::2] = mix[1::2].translate(_MASK)
    out[: min(32, n)] = mix[: min(32, n)]
    return out


def layout(tensors: dict[str, tuple[str, list[int]]]) -> tuple[dict[str, dict], int]:
    """Header entries (sorted by name, contiguous offsets) and the total data size."""
    entries, offset = {}, 0
    for name in sorted(tensors):
        dtype, shape = tensors[name]
        size = DTYPE_SIZES[dtype] * math.prod(shape)
        entries[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    return entries, offset


def header_bytes(entries: dict[str, dict], metadata: dict[str, str] | None) -> bytes:
    """The 8-byte length plus the JSON header, space-padded to a multiple of 8 like safetensors."""
    if metadata:
        bad = [k for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            raise TypeError(f"__metadata__ values must be strings: {bad[:3]}")
    raw = orjson.dumps({"__metadata__": metadata, **entries} if metadata else entries)
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw


def write_safetensors(path: str, tensors: dict[str, tuple[str, list[int]]], metadata: dict[str, str] | None,
                      *, fill: bytes | None = None, seed: int = 0) -> None:
    """Write a valid safetensors file; data is `fill` repeated verbatim, else keyed pseudo-random bytes."""
    entries, total = layout(tensors)
    head = header_bytes(entries, metadata)
    with open(path, "wb") as f:
        f.write(head)
        f.write(tensor_data(total, seed, fill))


def set_alphas(data: bytearray, entries: dict[str, dict], alpha: float) -> None:
    """Store the real network alpha in every `.alpha` scalar, as kohya does."""
    packed = {"F16": struct.pack("<e", alpha), "BF16": struct.pack("<f", alpha)[2:],
              "F32": struct.pack("<f", alpha), "F64": struct.pack("<d", alpha)}
    for name, e in entries.items():
        if name.endswith(".alpha"):
            s = e["data_offsets"][0]
            raw = packed[e["dtype"]]
            data[s:s + len(raw)] = raw


# --------------------------------------------------------------------------- module tables
# A module is (group, diffusers/BFL path, fan_in, fan_out, kernel); kernel 0 = linear,
# 1 = conv 1x1 (SD1 proj_in/out), 3 = conv 3x3 (LoCon resnets).


def _te(group: str, width: int, layers: int, mlp: int) -> list[tuple]:
    mods = []
    for i in range(layers):
        p = f"text_model.encoder.layers.{i}."
        mods += [(group, f"{p}self_attn.{n}", width, width, 0) for n in ("q_proj", "k_proj", "v_proj", "out_proj")]
        mods += [(group, p + "mlp.fc1", width, mlp, 0), (group, p + "mlp.fc2", mlp, width, 0)]
    return mods


def _attention(path: str, c: int, ctx: int, blocks: int, proj_kernel: int) -> list[tuple]:
    mods = [("unet", path + ".proj_in", c, c, proj_kernel)]
    for b in range(blocks):
        t = f"{path}.transformer_blocks.{b}."
        for attn, kv in (("attn1", c), ("attn2", ctx)):
            mods += [("unet", t + attn + ".to_q", c, c, 0), ("unet", t + attn + ".to_k", kv, c, 0),
                     ("unet", t + attn + ".to_v", kv, c, 0), ("unet", t + attn + ".to_out.0", c, c, 0)]
        mods += [("unet", t + "ff.net.0.proj", c, 8 * c, 0), ("unet", t + "ff.net.2", 4 * c, c, 0)]
    return mods + [("unet", path + ".proj_out", c, c, proj_kernel)]


def _unet(family: str) -> list[tuple]:
    if family == "xl":
        blocks = ([(f"down_blocks.1.attentions.{a}", 640, 2) for a in range(2)]
                  + [(f"down_blocks.2.attentions.{a}", 1280, 10) for a in range(2)] + [("mid_block.attentions.0", 1280, 10)]
                  + [(f"up_blocks.0.attentions.{a}", 1280, 10) for a in range(3)]
                  + [(f"up_blocks.1.attentions.{a}", 640, 2) for a in range(3)])
        return [m for path, c, n in blocks for m in _attention(path, c, 2048, n, 0)]
    blocks = ([(f"down_blocks.{b}.attentions.{a}", c) for b, c in enumerate((320, 640, 1280)) for a in range(2)]
              + [("mid_block.attentions.0", 1280)]
              + [(f"up_blocks.{b}.attentions.{a}", c) for b, c in ((1, 1280), (2, 640), (3, 320)) for a in range(3)])
    ctx, proj = (768, 1) if family == "sd1" else (1024, 0)
    return [m for path, c in blocks for m in _attention(path, c, ctx, 1, proj)]


def _resnets(family: str) -> list[tuple]:
    pairs = [("down_blocks.0.resnets.0", 320, 320), ("down_blocks.0.resnets.1", 320, 320),
             ("down_blocks.1.resnets.0", 320, 640), ("down_blocks.1.resnets.1", 640, 640),
             ("down_blocks.2.resnets.0", 640, 1280), ("down_blocks.2.resnets.1", 1280, 1280)]
    return [m for p, cin, c in pairs for m in (("unet", p + ".conv1", cin, c, 3), ("unet", p + ".conv2", c, c, 3))]


def _flux(style: str) -> list[tuple]:
    if style == "kohya":  # BFL names; kohya skips the modulation layers by default
        mods = [("unet", f"double_blocks.{i}.{s}_{n}", fi, fo, 0) for i in range(19) for s in ("img", "txt")
                for n, fi, fo in (("attn.qkv", 3072, 9216), ("attn.proj", 3072, 3072), ("mlp.0", 3072, 12288), ("mlp.2", 12288, 3072))]
        return mods + [("unet", f"single_blocks.{i}.{n}", fi, fo, 0) for i in range(38)
                       for n, fi, fo in (("linear1", 3072, 21504), ("linear2", 15360, 3072))]
    attn = ("to_q", "to_k", "to_v", "to_out.0", "add_q_proj", "add_k_proj", "add_v_proj", "to_add_out")
    mods = [("unet", f"transformer_blocks.{i}.attn.{n}", 3072, 3072, 0) for i in range(19) for n in attn]
    mods += [("unet", f"transformer_blocks.{i}.{ff}.{n}", fi, fo, 0) for i in range(19) for ff in ("ff", "ff_context")
             for n, fi, fo in (("net.0.proj", 3072, 12288), ("net.2", 12288, 3072))]
    return mods + [("unet", f"single_transformer_blocks.{i}.{n}", fi, fo, 0) for i in range(38)
                   for n, fi, fo in (("attn.to_q", 3072, 3072), ("attn.to_k", 3072, 3072), ("attn.to_v", 3072, 3072),
                                     ("proj_mlp", 3072, 12288), ("proj_out", 15360, 3072))]


_SIGNATURE = {  # modules always kept: they carry the widths a base-model detector reads
    "sd1": ("text_model.encoder.layers.0.self_attn.q_proj", "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"),
    "xl": ("text_model.encoder.layers.0.self_attn.q_proj", "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k"),
    "f1": ("double_blocks.0.img_attn.proj", "double_blocks.0.txt_attn.proj", "transformer_blocks.0.attn.to_q",
           "single_transformer_blocks.0.attn.to_q"),
}


@lru_cache(maxsize=None)
def modules(family: str, style: str = "kohya", conv: bool = False, unet_only: bool = False) -> tuple[tuple, tuple]:
    """(signature modules, other modules) of a family in `style` (kohya or peft)."""
    if family == "f1":
        mods = _flux(style) + (_te("te1", 768, 12, 3072) if style == "kohya" else [])
    elif family == "xl":
        mods = _te("te1", 768, 12, 3072) + _te("te2", 1280, 32, 5120) + _unet("xl")
    else:
        mods = (_te("te", 768, 12, 3072) if family == "sd1" else _te("te", 1024, 23, 4096)) + _unet(family)
    if conv and family != "f1":
        mods += _resnets(family)
    if unet_only:
        mods = [m for m in mods if m[0] == "unet"]
    keys = _SIGNATURE.get(family, _SIGNATURE["sd1"])
    sig = [m for m in mods if m[1] in keys]
    return tuple(sig), tuple(m for m in mods if m not in sig)


_XL_SGM = {
    "down_blocks.0.resnets.0": "input_blocks.1.0", "down_blocks.0.resnets.1": "input_blocks.2.0",
    "down_blocks.1.resnets.0": "input_blocks.4.0", "down_blocks.1.resnets.1": "input_blocks.5.0",
    "down_blocks.2.resnets.0": "input_blocks.7.0", "down_blocks.2.resnets.1": "input_blocks.8.0",
    "down_blocks.1.attentions.0": "input_blocks.4.1", "down_blocks.1.attentions.1": "input_blocks.5.1",
    "down_blocks.2.attentions.0": "input_blocks.7.1", "down_blocks.2.attentions.1": "input_blocks.8.1",
    "mid_block.attentions.0": "middle_block.1",
    **{f"up_blocks.0.attentions.{a}": f"output_blocks.{a}.1" for a in range(3)},
    **{f"up_blocks.1.attentions.{a}": f"output_blocks.{a + 3}.1" for a in range(3)},
}


@lru_cache(maxsize=None)
def module_name(family: str, style: str, group: str, path: str) -> str:
    """kohya `lora_unet_input_blocks_4_1_...` (SGM names for SDXL) or PEFT `unet.down_blocks.1...`."""
    if style == "peft":
        prefix = {"te": "text_encoder.", "te1": "text_encoder.", "te2": "text_encoder_2.",
                  "unet": "transformer." if family == "f1" else "unet."}[group]
        return prefix + path
    if family == "xl" and group == "unet":
        block = ".".join(path.split(".")[:4])
        rest = path[len(block):].replace(".conv1", ".in_layers.2").replace(".conv2", ".out_layers.3")
        path = _XL_SGM.get(block, block) + rest
    return {"te": "lora_te_", "te1": "lora_te1_", "te2": "lora_te2_", "unet": "lora_unet_"}[group] + path.replace(".", "_")


def _factor(dim: int) -> tuple[int, int]:
    """LyCORIS `factorization(dim, -1)`: the divisor pair closest to sqrt, smaller first."""
    m, n = 1, dim
    while m < n:
        new_m = m + 1
        while dim % new_m:
            new_m += 1
        m, n = new_m, dim // new_m
    return (n, m) if m > n else (m, n)


@lru_cache(maxsize=None)
def module_shapes(mod: tuple, r: int, network: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(suffix, shape) of every tensor a module of `network` stores at rank `r`."""
    _, _, fin, fout, k = mod
    kk = k * k
    down, up = ((r, fin, k, k), (fout, r, 1, 1)) if k else ((r, fin), (fout, r))
    if network == "peft":
        return (("lora_A.weight", down), ("lora_B.weight", up))
    if network in ("lora", "locon", "dora"):
        extra = (("dora_scale", (fout, 1, 1, 1) if k else (fout, 1)),) if network == "dora" else ()
        return (("alpha", ()), ("lora_down.weight", down), ("lora_up.weight", up)) + extra
    if network == "loha":
        a, b = (fout, r), (r, fin * (kk or 1))
        return (("alpha", ()), ("hada_w1_a", a), ("hada_w1_b", b), ("hada_w2_a", a), ("hada_w2_b", b))
    if network == "lokr":
        (ol, ok), (im, inn) = _factor(fout), _factor(fin)
        if r >= max(ok, inn) / 2:
            w2 = (("lokr_w2", (ok, inn, k, k) if k else (ok, inn)),)
        else:
            w2 = (("lokr_w2_a", (ok, r)), ("lokr_w2_b", (r, inn * (kk or 1))))
        return (("alpha", ()), ("lokr_w1", (ol, im))) + w2
    raise ValueError(f"unknown network {network!r}")


@lru_cache(maxsize=None)
def _cost(mod: tuple, r: int, network: str) -> int:
    return sum(math.prod(shape) for _, shape in module_shapes(mod, r, network))


def build_tensors(family: str, style: str, mods, rank: int, network: str, dtype: str = "F16") -> dict:
    out = {}
    for mod in mods:
        base = module_name(family, style, mod[0], mod[1])
        for suffix, shape in module_shapes(mod, rank, network):
            out[f"{base}.{suffix}"] = (dtype, list(shape))
    return out


def _pick(family: str, style: str, conv: bool, count: int, rng: random.Random | None, unet_only: bool) -> list[tuple]:
    sig, rest = modules(family, style, conv, unet_only)
    k = min(len(rest), max(0, count - len(sig)))
    if rng is None:
        return list(sig) + list(rest[:: max(1, len(rest) // max(1, k))][:k])
    return list(sig) + quick_sample(rng, (family, style, conv, unet_only), rest, k)


def kohya_tensors(family: str, rank: int, conv: bool = False, network: str = "lora", *, modules_count: int = 100,
                  dtype: str = "F16", unet_only: bool = False, rng: random.Random | None = None) -> dict:
    """~300 kohya/LyCORIS tensor entries {name: (dtype, shape)} with family-true widths."""
    if network == "peft":
        return peft_tensors(family, rank, modules_count=modules_count, dtype=dtype, rng=rng)
    mods = _pick(family, "kohya", conv or network == "locon", modules_count, rng, unet_only)
    return build_tensors(family, "kohya", mods, rank, network, dtype)


def peft_tensors(family: str, rank: int, *, modules_count: int = 150, dtype: str = "F16",
                 rng: random.Random | None = None, unet_only: bool = False) -> dict:
    """Diffusers/PEFT names (`unet.*.lora_A.weight`, `transformer.*` for flux)."""
    mods = _pick(family, "peft", False, modules_count, rng, unet_only)
    return build_tensors(family, "peft", mods, rank, "peft", dtype)


def fit_modules(family: str, network: str, budget: int, rng: random.Random, *, conv: bool = False,
                dtype: str = "F16", max_modules: int = 100, unet_only: bool = False) -> tuple[int, list[tuple]]:
    """The largest rank (and module set) whose tensor data fits `budget` bytes.

    Up to `max_modules` modules; when even rank 1 is too big, the signature
    modules are kept and the cheapest others fill the budget.
    """
    style = "peft" if network == "peft" else "kohya"
    sig_n = len(_pick(family, style, conv, 0, None, unet_only))
    cand = _pick(family, style, conv, 3 * max_modules, rng, unet_only)
    head, size = cand[:max_modules], DTYPE_SIZES[dtype]
    best = 0
    for r in RANKS:
        if sum(_cost(m, r, network) for m in head) * size > budget:
            break
        best = r
    if best:
        return best, head
    # Rank 1 is too big: keep the signature, then the cheapest modules (a block-weighted LoRA).
    chosen = cand[:sig_n]
    used = sum(_cost(m, 1, network) for m in chosen) * size
    for m in sorted(cand[sig_n:], key=lambda m: _cost(m, 1, network)):
        c = _cost(m, 1, network) * size
        if len(chosen) >= max_modules or used + c > budget:
            break
        chosen.append(m)
        used += c
    return 1, chosen


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
    source: "Spec | None" = None
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
        enc.metadata = {**(enc.metadata or {}), **ssmd_metadata(random.Random(f"{seed}:{spec.index}:retag"), spec.concept)}
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
        stats["bytes"] += _put(os.path.join(root, *rel.split("/")), broken_bytes(kind, head + bytes(enc.data), brng), made)
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
            "weight": rng.choice((0.0, 0.6, 0.7, 0.8, 1.0)), "clip_skip": 2 if src.family == "sd1" or src.label == "Pony" else 1,
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


# --------------------------------------------------------------------------- the --demo library

_DEMO = [  # stem, family, label, network, kind, name, metadata, sidecars, preview
    ("characters/aurelia_starfall_v2", "sd1", "SD 1.5", "lora", "character", "Aurelia Starfall", "kohya", ("a1111", "txt"), "preview.png"),
    ("characters/kaelin_ironvale-000008", "sd1", "SD 1.5", "locon", "character", "Kaelin Ironvale", "kohya", (), "png"),
    ("characters/Mirae (Chrono Drifters) v3", "xl", "Pony", "lora", "character", "Mirae (Chrono Drifters)", "kohya+spec", ("civitai_info",), "example.1.jpg"),
    ("characters/pony/saoirse_kestrel_pony", "xl", "Pony", "loha", "character", "Saoirse Kestrel", "kohya", ("sdnext", "description_txt"), "thumb.jpg"),
    ("characters/illustrious/hanae_moonbrook_ill", "xl", "Illustrious", "dora", "character", "Hanae Moonbrook", "kohya+ssmd", ("comfy_lm",), "preview.png"),
    ("characters/noobai/wren_thornfield_noob.v1.1", "xl", "NoobAI", "lora", "character", "Wren Thornfield", "kohya", ("cm_info",), "png"),
    ("characters/キャラクター/ねこみみ少女", "sd1", "SD 1.5", "lora", "character", "ねこみみ少女", "kohya+ssmd", ("a1111",), "preview.png"),
    ("styles/watercolor_dreamscape.v2", "sd1", "SD 1.5", "lora", "style", "Watercolor Dreamscape", "kohya", ("a1111",), "preview.png"),
    ("styles/ink_wash_lineart", "sd1", "SD 1.5", "lokr", "style", "Ink Wash Lineart", "kohya", ("civitai_info", "a1111"), "example.1.jpg"),
    ("styles/sd2/art_nouveau_illustration", "sd2", "SD 2.1", "lora", "style", "Art Nouveau Illustration", "kohya+spec", ("txt",), "png"),
    ("styles/sd2/risograph_palette_sd2", "sd2", "SD 2.0", "locon", "style", "Risograph Palette", "kohya", (), None),
    ("styles/xl/neon_noir_style", "xl", "SDXL 1.0", "lora", "style", "Neon Noir Style", "kohya+spec", ("sdnext", "description_txt"), "thumb.jpg"),
    ("styles/xl/ukiyo-e_lighting.v1.5", "xl", "SDXL 1.0", "loha", "style", "Ukiyo-e Lighting", "kohya", ("api_info", "a1111"), "preview.png"),
    ("styles/xl/pixel_art_palette", "xl", "SDXL 1.0", "lokr", "style", "Pixel Art Palette", "kohya", ("comfy_lm", "civitai_info"), "preview.png"),
    ("styles/xl/夜桜スタイル", "xl", "Illustrious", "lora", "style", "夜桜スタイル", "kohya", ("a1111",), "png"),
    ("styles/xl/Ölgemälde Style", "xl", "SDXL 1.0", "dora", "style", "Ölgemälde", "kohya+spec", ("cm_info",), "thumb.jpg"),
    ("artists/by_velmora_quill", "xl", "Pony", "lora", "artist", "Velmora Quill Style", "kohya", ("sdnext",), "preview.png"),
    ("artists/Orsolya Dane Style v2", "sd1", "SD 1.5", "lora", "artist", "Orsolya Dane Style", "kohya", ("civitai_info",), "example.1.jpg"),
    ("clothing/victorian_ballgown", "sd1", "SD 1.5", "lora", "clothing", "Victorian Ballgown", "kohya", ("comfy_lm",), "preview.png"),
    ("clothing/techwear_jacket_xl", "xl", "SDXL 1.0", "locon", "clothing", "Techwear Jacket", "kohya", ("cm_info",), "png"),
    ("clothing/pony/sailor_uniform_pony_v3", "xl", "Pony", "lora", "clothing", "Sailor Uniform", "kohya", ("a1111", "txt"), "preview.png"),
    ("objects/clockwork_owl", "sd1", "SD 1.5", "loha", "object", "Clockwork Owl", "kohya", ("description_txt",), "thumb.jpg"),
    ("objects/crystal_sword_xl", "xl", "SDXL 1.0", "lora", "object", "Crystal Sword", "kohya+ssmd", (), "preview.png"),
    ("poses/over_the_shoulder", "sd1", "SD 1.5", "lora", "pose", "Over The Shoulder", "kohya", ("a1111",), None),
    ("poses/dynamic_jump_ill", "xl", "Illustrious", "lora", "pose", "Dynamic Jump", "kohya", ("civitai_info",), "example.1.jpg"),
    ("concepts/floating_islands", "xl", "SDXL 1.0", "lora", "scene", "Floating Islands", "kohya+spec", ("sdnext",), "preview.png"),
    ("concepts/rainy_window.sd15", "sd1", "SD 1.5", "locon", "scene", "Rainy Window", "kohya", (), "png"),
    ("flux/bioluminescent_forest_flux", "f1", "Flux.1 D", "lora", "scene", "Bioluminescent Forest", "kohya+spec", ("comfy_lm",), "preview.png"),
    ("flux/Velvet Circus Poster", "f1", "Flux.1 D", "peft", "style", "Velvet Circus Poster", "aitk", ("civitai_info",), "example.1.jpg"),
    ("flux/creme_brulee_food_photo", "f1", "Flux.1 S", "peft", "object", "Crème Brûlée", "none", (), "thumb.jpg"),
    ("flux/styles/film_grain_polaroid_flux.v2", "f1", "Flux.1 D", "lokr", "style", "Film Grain Polaroid", "kohya", ("sdnext",), "png"),
    ("flux/isolde_ravenscar_flux", "f1", "Flux.1 D", "dora", "character", "Isolde Ravenscar", "kohya+ssmd", ("cm_info",), "preview.png"),
    ("diffusers/sd15_pastel_look_peft", "sd1", "SD 1.5", "peft", "style", "Pastel Look", "none", (), None),
    ("diffusers/sdxl_aurora_sky_lora", "xl", "SDXL 1.0", "peft", "scene", "Aurora Sky", "pt", ("a1111",), None),
    ("Zoë Brontë portrait", "sd1", "SD 1.5", "lora", "character", "Zoë Brontë", "kohya", ("a1111",), "png"),
    ("downloads/aurelia_starfall_v2 (1)", "dup:exact:0", "", "", "", "", "", ("a1111",), None),
    ("downloads/watercolor_dreamscape_retagged", "dup:retag:7", "", "", "", "", "", (), None),
    ("styles/sd1/Ink Wash Lineart", "dup:exact:8", "", "", "", "", "", (), "preview.png"),
]
_DEMO_BROKEN = {0: ("truncated_data", "downloads/interrupted_download.safetensors"),
                10: ("bad_json", "styles/sd2/old_broken_export.safetensors")}


def demo_specs() -> list[Spec]:
    """The specs of the demo library: every family, network, metadata style and sidecar dialect."""
    specs: list[Spec] = []
    for i, (stem, family, label, network, kind, name, meta, sidecars, preview) in enumerate(_DEMO):
        rng = random.Random(f"demo:{i}")
        if family.startswith("dup:"):
            _, how, src = family.split(":")
            source = specs[int(src)]
            spec = Spec(i, source.family, source.label, source.sd_model, make_concept(rng, source.concept.kind, source.concept.name),
                        stem, sidecars=sidecars, preview=preview, dup=how, source=source)
        else:
            models = [b[1] for b in BASES[family] if b[0] == label]
            kohya = meta.startswith("kohya")
            spec = Spec(i, family, label, models[0], make_concept(rng, kind, name), stem, network=network,
                        meta="kohya" if kohya else meta, modelspec=meta.endswith("+spec"), ssmd=meta.endswith("+ssmd"),
                        unet_only=family == "f1", dtype=("F16", "BF16")[i % 2],
                        budget=320_000 if family == "f1" else 120_000, max_modules=100 if network != "loha" else 60,
                        sidecars=sidecars, preview=preview, version=f"v{1 + i % 3}.0")
        spec.broken = _DEMO_BROKEN.get(i)
        spec.preview_size = 96
        specs.append(spec)
    return specs


def demo_library(root: str) -> dict:
    """A small, pleasant sample library (~40 files) for `--demo`; returns the same counts as generate_library."""
    stats, made = new_stats(), set()
    for spec in demo_specs():
        write_lora(root, 0, spec, stats, made)
    return stats
