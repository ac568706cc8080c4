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
from collections.abc import Callable

from .tensor_names import TensorNames, TensorSummary, names_of

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


# (type, predicate) over the summary of the names (tensor_names.py), tried in order. The
# structured algorithms come first: their files may also hold lora-like names.
TYPE_RULES: tuple[tuple[str, Callable[[TensorSummary], bool]], ...] = (
    ("LoHa", lambda s: "loha" in s.marks),
    ("LoKr", lambda s: "lokr" in s.marks),
    ("OFT", lambda s: "oft" in s.marks),
    ("GLoRA", lambda s: "glora_a" in s.marks and "glora_b" in s.marks),
    ("IA3", lambda s: "ia3" in s.marks),
    ("Full", lambda s: "full" in s.marks),
    ("DoRA", lambda s: "dora" in s.marks and "lora" in s.marks),
    ("LoCon", lambda s: "lora" in s.marks and "conv" in s.marks),
    ("LoRA", lambda s: "lora" in s.marks),
)


def _type_from_tensors(summary: TensorSummary) -> str | None:
    return next((kind for kind, holds in TYPE_RULES if holds(summary)), None)


def _may_be_dora(tensors: object) -> bool:
    """A substring search over the joined names: far faster than the summary (this runs for every file)."""
    if not isinstance(tensors, dict):
        return False
    try:
        names = "\n".join(tensors).lower()
    except TypeError:  # a non-string name: let the full scan judge
        return True
    return "dora_scale" in names or "magnitude" in names


def detect_network(
    metadata: dict[str, str], tensors: dict[str, list[int]] | TensorNames
) -> tuple[str | None, int | None, float | None]:
    """(network_type, rank, alpha) for one LoRA; each part None when unknown."""
    meta = metadata if isinstance(metadata, dict) else {}
    names = names_of(tensors)
    kind, lycoris = _type_from_metadata(meta)
    rank = _positive_int(meta.get("ss_network_dim"))
    alpha = _finite_float(meta.get("ss_network_alpha"))
    if kind in _DORA_BASES and rank is not None and not _may_be_dora(names.tensors):
        # The header settled type and rank; only a DoRA marker could change the answer.
        return kind, rank, alpha
    if kind is None or rank is None or kind in _DORA_BASES:
        summary = names.summary
        tensor_kind, tensor_rank = _type_from_tensors(summary), summary.rank()
        if kind is None:
            # LyCORIS's plain low-rank algo is LoCon, even where names look like LoRA.
            kind = "LoCon" if lycoris and tensor_kind in (None, "LoRA") else tensor_kind
        elif tensor_kind == "DoRA":  # a fork's "networks.lora" that saved dora_scale
            kind = "DoRA"
        if rank is None:
            rank = tensor_rank
    return kind, rank, alpha
