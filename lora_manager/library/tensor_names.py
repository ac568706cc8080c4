"""The vocabulary of tensor names, read once per file into a small summary.

Base-model detection (basemodel.py) and network-type detection (network.py)
both learn from a LoRA's tensor names and shapes. One pass here lower-cases
each name once and notes what both of them look for: marks (which layouts and
algorithms the names show), the input widths of down weights per part of the
model, block counts and ranks. Their rules are tables of predicates over this
summary, tried in order.

The pass is done on first need (`TensorNames.summary`): a kohya file whose
header states base, type and rank never pays for it. Inputs are untrusted:
odd names and shapes are skipped, nothing raises.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

# "Down" weights: shape [rank, in_features(, kh, kw)]. shape[0] is the rank; shape[1]
# the width of the layer's input, the number that tells bases apart.
# "lora.down" covers old diffusers attention-processor names ("to_q_lora.down.weight").
DOWN_ENDS = (
    "lora_down.weight", "lora_a.weight", "lora_a.default.weight", "lora.down.weight",
    "lora_linear_layer.down.weight",
)
# "Up" weights repeat their down weight's module name: only Flux.2's linear1 width is read from them.
UP_ENDS = ("lora_up.weight", "lora_b.weight", "lora_b.default.weight", "lora.up.weight")
# diffusers' old processor up weight: an up weight to the network type, a layer like any other to the base.
LINEAR_UP_END = "lora_linear_layer.up.weight"
# LoHa's second factors [rank, in]: their widths count like a down weight's.
HADA_B_ENDS = ("hada_w1_b", "hada_w2_b")
# Other weights whose shape[0] is the rank (hada_w1_a is [out, rank]: its shape[0] is not).
RANK_ENDS = (".hada_w1_b", ".lokr_w2_b", ".lokr_w1_b")
# Low-rank weights under a suffix we do not know.
LORA_MARKS = ("lora_down", "lora_up", "lora_a.", "lora_b.", "lora.down", "lora.up")

# Text encoders. kohya: te = SD1/2 CLIP; te1/te2 = SDXL (or SD3/Flux CLIP-L, CLIP-G); te3 = T5.
TE_PREFIXES = ("lora_te", "text_encoder", "te1.", "te2.", "te.")
TE2_PREFIXES = ("lora_te2", "text_encoder_2", "te2.")
TE3_PREFIXES = ("lora_te3", "text_encoder_3")
TE1_PREFIXES = ("lora_te1", "te1.")  # CLIP-L of SDXL, SD3 or Flux: its 768 must not read as SD1

_BLOCK_RE = re.compile(r"(single_transformer_blocks|single_blocks|double_blocks|transformer_blocks)[._](\d+)")
# DiT names start here once a trainer prefix is removed; SD UNet names never do
# (their "transformer_blocks" sits deep inside "down_blocks_1_attentions_0_...").
DIT_TB_PREFIXES = ("transformer.transformer_blocks", "transformer_blocks", "lora_transformer_transformer_blocks",
                   "lora_unet_transformer_blocks", "diffusion_model.transformer_blocks",
                   "base_model.model.transformer_blocks")
DIT_LAYER_PREFIXES = ("transformer.layers", "layers.", "lora_unet_layers_", "diffusion_model.layers",
                      "lora_transformer_layers_", "base_model.model.layers")

# Names that make a mark on their own (substring, mark). The structured algorithms are tried in
# this order and a name makes at most one of them, as their files may hold lora-like names too.
_ALGO_MARKS: tuple[tuple[str, str], ...] = (
    ("hada_w1_a", "loha"), (".lokr_w1", "lokr"), ("oft_blocks", "oft"), ("oft_diag", "oft"),
)
_ALGO_ENDS: tuple[tuple[tuple[str, ...], str], ...] = (
    ((".a1.weight",), "glora_a"), ((".b1.weight",), "glora_b"), ((".on_input",), "ia3"), ((".diff", ".diff_b"), "full"),
)
# LyCORIS dora_scale / PEFT lora_magnitude_vector; lora_mid is a Tucker-decomposed conv (LoCon only).
_LATE_MARKS: tuple[tuple[str, str], ...] = (("dora_scale", "dora"), ("magnitude", "dora"), ("lora_mid", "conv"))
# Most such names (LoHa's and LoKr's other factors) make no mark: one search rules them out.
_ANY_PART = re.compile("|".join(re.escape(p) for p, _ in (*_ALGO_MARKS, *_LATE_MARKS)) + "|"
                       + "|".join(re.escape(m) for m in LORA_MARKS))
_ANY_END = tuple(end for ends, _ in _ALGO_ENDS for end in ends)


@dataclass(slots=True)
class TensorSummary:
    """What the names and shapes of one file show.

    marks: lora, conv (a kernel wider than 1, or lora_mid), loha, lokr, oft, glora_a, glora_b, ia3,
    full, dora (network types); te2, te3 (text encoders); mmdit (SD3 joint blocks), flux_blocks,
    hv (HunyuanVideo's MLP or refiner), dit_tb (DiT transformer_blocks at the top), qwen, wan
    (cross_attn blocks), sgm (kohya's SDXL UNet names), chroma, dit_layers (Z-Image / Lumina 2).
    """

    marks: set[str] = field(default_factory=set)
    te_widths: set[int] = field(default_factory=set)  # input widths of "lora_te_" / "text_encoder." down weights
    te2_widths: set[int] = field(default_factory=set)
    xattn_widths: set[int] = field(default_factory=set)  # UNet cross-attention key/value input widths
    dit_widths: set[int] = field(default_factory=set)  # DiT attention input widths (= hidden size)
    linear1_out: set[int] = field(default_factory=set)  # single-block linear1 output widths (up weights)
    max_double: int = -1  # highest double_blocks / transformer_blocks index of a Flux or DiT name
    max_single: int = -1
    ranks: Counter[int] = field(default_factory=Counter)  # shape[0] of rank-carrying weights

    def rank(self) -> int | None:
        """The most common rank; ties go to the larger, so the answer does not depend on dict order."""
        return max(self.ranks.items(), key=lambda kv: (kv[1], kv[0]))[0] if self.ranks else None


class TensorNames:
    """A file's tensors ({name: shape}), summarised on first need and then shared."""

    __slots__ = ("_summary", "tensors")

    def __init__(self, tensors: object):
        self.tensors = tensors
        self._summary: TensorSummary | None = None

    @property
    def summary(self) -> TensorSummary:
        if self._summary is None:
            self._summary = summarise(self.tensors)
        return self._summary


def names_of(tensors: object) -> TensorNames:
    return tensors if isinstance(tensors, TensorNames) else TensorNames(tensors)


def width(shape: object, index: int) -> int | None:
    """shape[index] of a weight of 2 or more dimensions, when it is a positive int."""
    if isinstance(shape, (list, tuple)) and len(shape) > index and len(shape) >= 2:
        w = shape[index]
        if isinstance(w, int) and not isinstance(w, bool) and w > 0:
            return w
    return None


def summarise(tensors: object) -> TensorSummary:
    """One pass over the names: lower-cased once, each read for the network type and the base."""
    s = TensorSummary()
    if not isinstance(tensors, dict):
        return s
    ranks: list[int] = []
    lora = False
    for raw, shape in tensors.items():
        if not isinstance(raw, str):
            continue
        n = raw.lower()
        # Alpha and up weights repeat their down weight's module name: skipping them
        # halves the work and loses nothing, except Flux.2's telltale linear1 width.
        if n.endswith("alpha"):
            continue
        if n.endswith(DOWN_ENDS):
            lora = True
            if isinstance(shape, (list, tuple)) and len(shape) >= 2:
                r = shape[0]
                if isinstance(r, int) and not isinstance(r, bool) and r > 0:
                    ranks.append(r)
                if len(shape) == 4 and _wide_kernel(shape):
                    s.marks.add("conv")  # a conv down weight [r, in, kh, kw] with a kernel wider than 1: LoCon
            _note_layer(s, n, shape, True)
        elif n.endswith(UP_ENDS):
            lora = True
            if ("linear1" in n and "single_blocks" in n) or "to_qkv_mlp_proj" in n:
                w = width(shape, 0)
                if w:
                    s.linear1_out.add(w)
        elif n.endswith(LINEAR_UP_END):
            lora = True
            _note_layer(s, n, shape, False)
        else:
            if n.endswith(RANK_ENDS):
                r = width(shape, 0)
                if r:
                    ranks.append(r)
            _note_algorithm(s.marks, n)
            _note_layer(s, n, shape, n.endswith(HADA_B_ENDS))
    if lora:
        s.marks.add("lora")
    s.ranks.update(ranks)
    return s


def _wide_kernel(shape: list | tuple) -> bool:
    kh, kw = shape[2], shape[3]
    return (isinstance(kh, int) and kh > 1) or (isinstance(kw, int) and kw > 1)


def _note_algorithm(marks: set[str], n: str) -> None:
    """The network-type mark of a name that is no plain down or up weight (at most one per name)."""
    if not n.endswith(_ANY_END) and _ANY_PART.search(n) is None:
        return
    for part, mark in _ALGO_MARKS:
        if part in n:
            marks.add(mark)
            return
    for ends, mark in _ALGO_ENDS:
        if n.endswith(ends):
            marks.add(mark)
            return
    for part, mark in _LATE_MARKS:
        if part in n:
            marks.add(mark)
            return
    if any(mark in n for mark in LORA_MARKS):
        marks.add("lora")  # lora weights under a name we do not know the suffix of


def _note_layer(s: TensorSummary, n: str, shape: object, is_down: bool) -> None:
    """The base-model marks and widths of a name (not read from alpha or plain up weights)."""
    if n.startswith(TE_PREFIXES):
        _note_text_encoder(s, n, shape, is_down)
        return
    marks = s.marks
    if "blocks" in n:
        _note_blocks(s, n)
    if n.startswith("lora_unet_") and ("input_blocks" in n or "output_blocks" in n or "middle_block" in n):
        marks.add("sgm")  # kohya writes SGM UNet names for SDXL only (SD1/2 use diffusers names)
    if "distilled_guidance_layer" in n:  # Chroma replaced Flux's modulation inputs with this
        marks.add("chroma")
    if "individual_token_refiner" in n:
        marks.add("hv")
    if "noise_refiner" in n or "context_refiner" in n or n.startswith(DIT_LAYER_PREFIXES):
        marks.add("dit_layers")  # Z-Image / Lumina 2 (same layout, different width)
    if is_down and isinstance(shape, (list, tuple)) and len(shape) >= 2:
        w = shape[1]
        if isinstance(w, int) and not isinstance(w, bool) and w > 0:
            if "attn2" in n and ("to_k" in n or "to_v" in n):
                s.xattn_widths.add(w)
            elif "attn" in n or "attention" in n or "linear1" in n:
                s.dit_widths.add(w)


def _note_text_encoder(s: TensorSummary, n: str, shape: object, is_down: bool) -> None:
    if n.startswith(TE2_PREFIXES):
        s.marks.add("te2")
        w = width(shape, 1) if is_down else None
        if w:
            s.te2_widths.add(w)
    elif n.startswith(TE3_PREFIXES):
        s.marks.add("te3")
    elif n.startswith(TE1_PREFIXES):
        pass
    elif is_down:
        w = width(shape, 1)
        if w:
            s.te_widths.add(w)


def _note_blocks(s: TensorSummary, n: str) -> None:
    marks = s.marks
    if "joint_blocks" in n or "context_block" in n:  # SD3 MMDiT (SAI / kohya names)
        marks.add("mmdit")
    flux_name = "double_blocks" in n or "single_blocks" in n or "single_transformer_blocks" in n
    if flux_name:
        marks.add("flux_blocks")
        # HunyuanVideo shares Flux's block layout but names its MLP fc1/fc2.
        if "mlp_fc1" in n or "mlp.fc1" in n:
            marks.add("hv")
    tb_name = n.startswith(DIT_TB_PREFIXES)
    qwen_part = "img_mlp" in n or "txt_mlp" in n or "img_mod" in n  # Qwen-Image block parts
    if tb_name:
        marks.add("dit_tb")
        if qwen_part:
            marks.add("qwen")
    elif qwen_part and "transformer_blocks" in n and "double_blocks" not in n:
        marks.add("qwen")
    if "cross_attn" in n:  # Wan: blocks.N.cross_attn.{q,k,v}
        marks.add("wan")
    if flux_name or tb_name:  # block counts tell Flux.1 from HunyuanVideo
        m = _BLOCK_RE.search(n)
        if m:
            i = int(m.group(2))
            if m.group(1).startswith("single"):
                s.max_single = max(s.max_single, i)
            else:
                s.max_double = max(s.max_double, i)
