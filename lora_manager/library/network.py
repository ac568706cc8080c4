"""Network type, rank and alpha of a LoRA file, from its header metadata and tensor names.

kohya-style trainers state all three in `ss_network_*` keys; files from other
tools (diffusers/PEFT, ComfyUI, converters) carry only tensors, whose names
reveal the algorithm and whose shapes reveal the rank. Alpha, when not in the
header, lives in tensor *data*, which a header reader never sees: it stays None.

Inputs are untrusted: nothing here raises, whatever the values.
"""

from __future__ import annotations

import json
import math
from collections import Counter

# LyCORIS `algo` values -> the names users see on Civitai and in UIs.
# LyCORIS's "lora" is its LoCon implementation (it also adapts conv layers), so
# both spellings read "LoCon". diag-oft is OFT with a diagonal constraint.
_ALGO = {
    "lora": "LoCon", "locon": "LoCon", "loha": "LoHa", "lokr": "LoKr", "dylora": "DyLoRA",
    "ia3": "IA3", "glora": "GLoRA", "oft": "OFT", "diag-oft": "OFT", "diag_oft": "OFT",
    "boft": "BOFT", "full": "Full",
}
# Only plain low-rank nets become "DoRA" when weight decomposition is on: a LoHa or
# LoKr with dora_wd is still loaded as a LoHa/LoKr, which is what the type tells.
_DORA_BASES = frozenset({"LoRA", "LoCon"})

# Suffixes whose shape[0] is the rank: lora_down/lora_A are [rank, in(, kh, kw)];
# LoHa's hada_w1_b is [rank, in]; LoKr's lokr_w2_b/lokr_w1_b likewise.
# (hada_w1_a is [out, rank] — its shape[0] is the layer's width, not the rank.)
# "lora.down" covers old diffusers attention-processor names ("to_q_lora.down.weight").
_DOWN_ENDS = (
    "lora_down.weight", "lora_a.weight", "lora_a.default.weight", "lora.down.weight",
    "lora_linear_layer.down.weight",
)
_UP_ENDS = (
    "lora_up.weight", "lora_b.weight", "lora_b.default.weight", "lora.up.weight",
    "lora_linear_layer.up.weight",
)
_OTHER_RANK_ENDS = (".hada_w1_b", ".lokr_w2_b", ".lokr_w1_b")
_LORA_MARKS = ("lora_down", "lora_up", "lora_a.", "lora_b.", "lora.down", "lora.up")
_TRUE = frozenset({"true", "1", "yes", "on"})


def _parse_args(raw: object) -> dict[str, object] | None:
    """ss_network_args: a JSON object (values usually strings); {} when absent, None when unreadable."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if not isinstance(raw, str) or len(raw) > 100_000:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, (str, int, float)) and str(value).strip().lower() in _TRUE


def _positive_int(value: object) -> int | None:
    """'16', '16.0', 16 -> 16; anything else (None, 'None', '0', 'abc', 'inf') -> None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value >= 1 and value.is_integer() else None
    if not isinstance(value, str) or len(value) > 32:
        return None
    s = value.strip()
    try:
        return _positive_int(int(s))
    except ValueError:
        pass
    try:
        return _positive_int(float(s))
    except ValueError:
        return None


def _finite_float(value: object) -> float | None:
    """ss_network_alpha: '8', '0.5', '1e-3'; 'Dynamic' (DyLoRA), 'nan', junk -> None."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    if isinstance(value, str) and len(value) > 32:
        return None
    try:
        f = float(value)
    except (ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def _type_from_metadata(metadata: dict) -> tuple[str | None, bool]:
    """(type, is_lycoris); type None when the header does not settle it."""
    module = metadata.get("ss_network_module")
    if not isinstance(module, str):
        return None, False
    module = module.strip().lower()[:200]
    if not module:
        return None, False
    parsed = _parse_args(metadata.get("ss_network_args"))
    args = parsed or {}
    if module.startswith("lycoris"):
        if parsed is None:  # unreadable args: the algo is unknown, let the names decide
            return None, True
        algo = args.get("algo", "lora")  # LyCORIS's own default when algo is not given
        kind = _ALGO.get(algo.strip().lower()) if isinstance(algo, str) else None
    elif module.startswith(("networks.dylora", "networks.lora_dylora")):
        kind = "DyLoRA"
    elif module.startswith("networks.oft"):
        kind = "OFT"
    elif module.startswith(("networks.lora", "lora")):
        # kohya's networks.lora (and its flux/sd3/lumina/wan variants) adapts 3x3
        # convs too when conv_dim is set: that is LoCon (kohya calls it C3Lier).
        kind = "LoCon" if _positive_int(args.get("conv_dim")) else "LoRA"
    else:
        return None, False
    if kind in _DORA_BASES and _truthy(args.get("dora_wd")):
        kind = "DoRA"
    return kind, module.startswith("lycoris")


def _scan_tensors(tensors: object) -> tuple[str | None, int | None]:  # noqa: C901, PLR0912 - one pass, the hot loop
    """One pass: (network type from names, most common rank from shapes)."""
    if not isinstance(tensors, dict):
        return None, None
    loha = lokr = oft = ia3 = full = dora = lora = conv = False
    glora_a = glora_b = False
    ranks: Counter[int] = Counter()
    for raw, shape in tensors.items():
        if not isinstance(raw, str):
            continue
        n = raw.lower()
        # Fast paths first: alpha/down/up make up nearly every name of a typical file.
        if n.endswith("alpha"):
            continue
        if n.endswith(_DOWN_ENDS):
            lora = True
            if isinstance(shape, (list, tuple)) and len(shape) >= 2:
                r = shape[0]
                if isinstance(r, int) and not isinstance(r, bool) and r > 0:
                    ranks[r] += 1
                # A conv down weight [r, in, kh, kw] with a kernel wider than 1 is LoCon.
                if len(shape) == 4:
                    kh, kw = shape[2], shape[3]
                    if (isinstance(kh, int) and kh > 1) or (isinstance(kw, int) and kw > 1):
                        conv = True
            continue
        if n.endswith(_UP_ENDS):
            lora = True
            continue
        if n.endswith(_OTHER_RANK_ENDS) and isinstance(shape, (list, tuple)) and len(shape) >= 2:
            r = shape[0]
            if isinstance(r, int) and not isinstance(r, bool) and r > 0:
                ranks[r] += 1
        if "hada_w1_a" in n:
            loha = True
        elif ".lokr_w1" in n:  # lokr_w1 or lokr_w1_a / lokr_w1_b
            lokr = True
        elif "oft_blocks" in n or "oft_diag" in n:
            oft = True
        elif n.endswith(".a1.weight"):
            glora_a = True
        elif n.endswith(".b1.weight"):
            glora_b = True
        elif n.endswith(".on_input"):
            ia3 = True
        elif n.endswith((".diff", ".diff_b")):
            full = True
        elif "dora_scale" in n or "magnitude" in n:  # LyCORIS dora_scale / PEFT lora_magnitude_vector
            dora = True
        elif "lora_mid" in n:  # Tucker-decomposed conv: LoCon only
            conv = True
        elif not lora and any(mark in n for mark in _LORA_MARKS):
            lora = True  # lora weights under a name we do not know the suffix of
    # The structured algorithms first: their files may also hold lora-like names.
    if loha:
        kind = "LoHa"
    elif lokr:
        kind = "LoKr"
    elif oft:
        kind = "OFT"
    elif glora_a and glora_b:
        kind = "GLoRA"
    elif ia3:
        kind = "IA3"
    elif full:
        kind = "Full"
    elif dora and lora:
        kind = "DoRA"
    elif lora:
        kind = "LoCon" if conv else "LoRA"
    else:
        kind = None
    # Ties go to the larger rank, so the answer does not depend on dict order.
    rank = max(ranks.items(), key=lambda kv: (kv[1], kv[0]))[0] if ranks else None
    return kind, rank


def _may_be_dora(tensors: object) -> bool:
    if not isinstance(tensors, dict):
        return False
    try:
        names = "\n".join(tensors).lower()
    except TypeError:  # a non-string name: let the full scan judge
        return True
    return "dora_scale" in names or "magnitude" in names


def detect_network(
    metadata: dict[str, str], tensors: dict[str, list[int]]
) -> tuple[str | None, int | None, float | None]:
    """(network_type, rank, alpha) for one LoRA; each part None when unknown."""
    meta = metadata if isinstance(metadata, dict) else {}
    kind, lycoris = _type_from_metadata(meta)
    rank = _positive_int(meta.get("ss_network_dim"))
    alpha = _finite_float(meta.get("ss_network_alpha"))
    if kind in _DORA_BASES and rank is not None and not _may_be_dora(tensors):
        # The header settled type and rank; only a DoRA marker could change
        # the answer, and a substring search over the joined names rules that
        # out far faster than the per-name scan (this runs for every file).
        return kind, rank, alpha
    if kind is None or rank is None or kind in _DORA_BASES:
        tensor_kind, tensor_rank = _scan_tensors(tensors)
        if kind is None:
            # LyCORIS's plain low-rank algo is LoCon, even where names look like LoRA.
            kind = "LoCon" if lycoris and tensor_kind in (None, "LoRA") else tensor_kind
        elif tensor_kind == "DoRA":  # a fork's "networks.lora" that saved dora_scale
            kind = "DoRA"
        if rank is None:
            rank = tensor_rank
    return kind, rank, alpha
