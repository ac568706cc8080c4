"""Safetensors bytes and tensor layouts of synthetic LoRAs: kohya, LyCORIS and PEFT names
with the shapes of their base family (sd1, sd2, xl, f1). No torch: tensor bytes come from
a masked random pool (every float finite, |x| < 2) mixed with a per-file key.
"""

from __future__ import annotations

import hashlib
import math
import random
import struct
from functools import lru_cache, cache

import orjson

from .words import quick_sample

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
        blocks = (
            [(f"down_blocks.1.attentions.{a}", 640, 2) for a in range(2)]
            + [(f"down_blocks.2.attentions.{a}", 1280, 10) for a in range(2)]
            + [("mid_block.attentions.0", 1280, 10)]
            + [(f"up_blocks.0.attentions.{a}", 1280, 10) for a in range(3)]
            + [(f"up_blocks.1.attentions.{a}", 640, 2) for a in range(3)]
        )
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
                for n, fi, fo in (("attn.qkv", 3072, 9216), ("attn.proj", 3072, 3072), ("mlp.0", 3072, 12288),
                                  ("mlp.2", 12288, 3072))]
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
    "sd1": ("text_model.encoder.layers.0.self_attn.q_proj",
            "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"),
    "xl": ("text_model.encoder.layers.0.self_attn.q_proj",
           "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k"),
    "f1": ("double_blocks.0.img_attn.proj", "double_blocks.0.txt_attn.proj", "transformer_blocks.0.attn.to_q",
           "single_transformer_blocks.0.attn.to_q"),
}


@cache
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


@cache
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
    prefix = {"te": "lora_te_", "te1": "lora_te1_", "te2": "lora_te2_", "unet": "lora_unet_"}[group]
    return prefix + path.replace(".", "_")


def _factor(dim: int) -> tuple[int, int]:
    """LyCORIS `factorization(dim, -1)`: the divisor pair closest to sqrt, smaller first."""
    m, n = 1, dim
    while m < n:
        new_m = m + 1
        while dim % new_m:
            new_m += 1
        m, n = new_m, dim // new_m
    return (n, m) if m > n else (m, n)


@cache
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


@cache
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
