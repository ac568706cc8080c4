"""Which base model a LoRA was trained for, from the evidence a file and its sidecars carry.

The answer uses SDNext's `sd_version` vocabulary (FAMILIES) because that is what
the host filters on. Evidence is read in a fixed order and the first source that
answers decides the family; later sources can only add a finer label that agrees.

Internally a "key" may also name a base outside the vocabulary (wan, lumina,
auraflow, ...). Such a key still ends the search — a header that says
`lumina2` must not be overruled by an "xl" in the file name — but it is reported
as family None, since SDNext has no family for it.

All inputs are untrusted; nothing here raises on odd types or garbage values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lora_manager.library.records import BaseModel, SidecarFacts

FAMILIES: tuple[str, ...] = ("sd1", "sd2", "xl", "sd3", "sc", "f1", "f2", "hv", "chroma", "zimage", "anima", "qwen")

# Ordered prefix table over a normalised string (lower case, no spaces/_/-; dots kept
# so "sd3.5" stays readable). One table serves kohya's ss_base_model_version
# ("sd_v2_768_v" -> "sdv2768v"), ai-toolkit's ("sdxl_1.0", "flux2_klein_9b"),
# modelspec ids ("stable-diffusion-xl-v1-base") and Civitai/A1111 labels
# ("SD 1.5", "Flux.1 D", "SDXL"), because all of them name bases by prefix.
# Order matters: "sdxl" before "sd...", "flux2" before "flux", "ponyv7" before "pony".
# The third field asks for a non-letter after the prefix ("anima" must not eat "animagine").
_PREFIXES: tuple[tuple[str, str, bool], ...] = (
    ("sdxl", "xl", False),
    ("sdv1", "sd1", False), ("sd1", "sd1", False),
    ("sdv2", "sd2", False), ("sd2", "sd2", False),
    ("sdv3", "sd3", False), ("sd3", "sd3", False),
    ("stablediffusionxl", "xl", False),
    ("stablediffusionv1", "sd1", False), ("stablediffusion1", "sd1", False),
    ("stablediffusionv2", "sd2", False), ("stablediffusion2", "sd2", False),
    ("stablediffusionv3", "sd3", False), ("stablediffusion3", "sd3", False),
    ("stablecascade", "sc", False),
    # Pony V7 is an AuraFlow model, unlike Pony V6 and earlier (SDXL finetunes).
    ("ponyv7", "auraflow", False),
    # Pony, Illustrious and NoobAI are SDXL finetunes: an xl LoRA loads on them.
    ("pony", "xl", False), ("illustrious", "xl", False), ("noob", "xl", False),
    ("flux.2", "f2", False), ("flux2", "f2", False), ("flux", "f1", False),
    ("chroma", "chroma", False),
    ("hunyuanvideo", "hv", False), ("hyv", "hv", True),
    ("hunyuan", "hunyuan", False),  # HunyuanDiT / Hunyuan Image: not the video model
    ("zimage", "zimage", False),
    ("qwen", "qwen", False),
    ("anima", "anima", True),
    # Known bases outside SDNext's vocabulary: they answer, but with family None.
    ("wan", "wan", False), ("lumina", "lumina", False), ("auraflow", "auraflow", False),
    ("pixart", "pixart", False), ("kolors", "kolors", False), ("hidream", "hidream", False),
    ("ltx", "ltxv", False), ("mochi", "mochi", False), ("cogvideo", "cogvideo", False),
    ("svd", "svd", False), ("stablevideo", "svd", False), ("playground", "playground", False),
    ("sana", "sana", True), ("cosmos", "cosmos", False),
)
_STRIP = str.maketrans("", "", " _-\t")


def _key_of(text: object, *, cut_slash: bool = False) -> str | None:
    """Base key (family or outside-vocabulary name) for one stated base string, or None."""
    if not isinstance(text, str):
        return None
    s = text[:128].strip().lower()
    if cut_slash:  # modelspec: "stable-diffusion-xl-v1-base/lora" -> drop the adapter suffix
        s = s.split("/", 1)[0]
    s = s.translate(_STRIP)
    if not s:
        return None
    for prefix, key, boundary in _PREFIXES:
        if s.startswith(prefix):
            if boundary and len(s) > len(prefix) and s[len(prefix)].isalpha():
                continue
            return key
    return None


def family_of_label(label: str) -> str | None:
    """Civitai / A1111 / ai-toolkit base label -> SDNext family, or None (unknown or outside)."""
    key = _key_of(label)
    return key if key in FAMILIES else None


# ---------------------------------------------------------------- tensors

# Suffixes of "down" weights: shape [rank, in_features(, kh, kw)], so shape[1] is
# the width of the layer's input — the number that tells bases apart.
_DOWN_ENDS = (
    "lora_down.weight", "lora_a.weight", "lora_a.default.weight", "lora.down.weight",
    "lora_linear_layer.down.weight", "hada_w1_b", "hada_w2_b",
)
_UP_ENDS = ("lora_up.weight", "lora_b.weight", "lora_b.default.weight", "lora.up.weight")
_BLOCK_RE = re.compile(r"(single_transformer_blocks|single_blocks|double_blocks|transformer_blocks)[._](\d+)")
# DiT names start here once a trainer prefix is removed; SD UNet names never do
# (their "transformer_blocks" sits deep inside "down_blocks_1_attentions_0_...").
_DIT_TB = ("transformer.transformer_blocks", "transformer_blocks", "lora_transformer_transformer_blocks",
           "lora_unet_transformer_blocks", "diffusion_model.transformer_blocks",
           "base_model.model.transformer_blocks")
_DIT_LAYERS = ("transformer.layers", "layers.", "lora_unet_layers_", "diffusion_model.layers",
               "lora_transformer_layers_", "base_model.model.layers")
# Flux.2 single-block linear1 output = 3*hidden + 2*mlp (gated): 4B, 9B, dev.
# Flux.1's is 21504 (3*3072 + 4*3072), so this tells Klein 4B apart at equal width.
_F2_LINEAR1 = frozenset({27648, 36864, 55296})


def _width(shape: object, index: int) -> int | None:
    if isinstance(shape, (list, tuple)) and len(shape) > index and len(shape) >= 2:
        w = shape[index]
        if isinstance(w, int) and not isinstance(w, bool) and w > 0:
            return w
    return None


def _family_from_tensors(tensors: object) -> str | None:  # noqa: C901, PLR0911, PLR0912, PLR0915 - to become a rule table
    """One pass over the names; widths of down weights settle what names cannot."""
    if not isinstance(tensors, dict) or not tensors:
        return None
    sd3 = flux = chroma = hv = qwen = dit_tb = dit_layers = wan = sgm = False
    te2 = te3 = False
    te_w: set[int] = set()  # "lora_te_" / "text_encoder." input widths
    te2_w: set[int] = set()
    xattn_w: set[int] = set()  # UNet cross-attention key/value input widths
    dit_w: set[int] = set()  # DiT attention input widths (= hidden size)
    linear1_out: set[int] = set()
    max_double = max_single = -1
    for raw, shape in tensors.items():
        if not isinstance(raw, str):
            continue
        n = raw.lower()
        # alpha and up weights repeat their down weight's module name: skipping them
        # halves the work and loses nothing, except Flux.2's telltale linear1 width.
        if n.endswith("alpha"):
            continue
        if n.endswith(_UP_ENDS):
            if ("linear1" in n and "single_blocks" in n) or "to_qkv_mlp_proj" in n:
                w = _width(shape, 0)
                if w:
                    linear1_out.add(w)
            continue
        is_down = n.endswith(_DOWN_ENDS)
        if n.startswith(("lora_te", "text_encoder", "te1.", "te2.", "te.")):
            # kohya: te = SD1/2 CLIP; te1/te2 = SDXL (or SD3/Flux CLIP-L, CLIP-G); te3 = T5.
            if n.startswith(("lora_te2", "text_encoder_2", "te2.")):
                te2 = True
                w = _width(shape, 1) if is_down else None
                if w:
                    te2_w.add(w)
            elif n.startswith(("lora_te3", "text_encoder_3")):
                te3 = True
            elif n.startswith(("lora_te1", "te1.")):
                pass  # CLIP-L of SDXL, SD3 or Flux: its 768 must not read as SD1
            elif is_down:
                w = _width(shape, 1)
                if w:
                    te_w.add(w)
            continue
        if "blocks" in n:
            if "joint_blocks" in n or "context_block" in n:  # SD3 MMDiT (SAI / kohya names)
                sd3 = True
            flux_name = "double_blocks" in n or "single_blocks" in n or "single_transformer_blocks" in n
            if flux_name:
                flux = True
                # HunyuanVideo shares Flux's block layout but names its MLP fc1/fc2.
                if "mlp_fc1" in n or "mlp.fc1" in n:
                    hv = True
            tb_name = n.startswith(_DIT_TB)
            if tb_name:
                dit_tb = True
                if "img_mlp" in n or "txt_mlp" in n or "img_mod" in n:  # Qwen-Image block parts
                    qwen = True
            elif "transformer_blocks" in n and ("img_mlp" in n or "txt_mlp" in n or "img_mod" in n) \
                    and "double_blocks" not in n:
                qwen = True
            if "cross_attn" in n:  # Wan: blocks.N.cross_attn.{q,k,v}
                wan = True
            if flux_name or tb_name:  # block counts tell Flux.1 from HunyuanVideo
                m = _BLOCK_RE.search(n)
                if m:
                    i = int(m.group(2))
                    if m.group(1).startswith("single"):
                        max_single = max(max_single, i)
                    else:
                        max_double = max(max_double, i)
        if n.startswith("lora_unet_") and ("input_blocks" in n or "output_blocks" in n or "middle_block" in n):
            sgm = True  # kohya writes SGM UNet names for SDXL only (SD1/2 use diffusers names)
        if "distilled_guidance_layer" in n:  # Chroma replaced Flux's modulation inputs with this
            chroma = True
        if "individual_token_refiner" in n:
            hv = True
        if "noise_refiner" in n or "context_refiner" in n or n.startswith(_DIT_LAYERS):
            dit_layers = True  # Z-Image / Lumina 2 (same layout, different width)
        if is_down:
            w = _width(shape, 1)
            if w:
                if "attn2" in n and ("to_k" in n or "to_v" in n):
                    xattn_w.add(w)
                elif "attn" in n or "attention" in n or "linear1" in n:
                    dit_w.add(w)
    if sd3:
        return "sd3"
    if flux:
        if dit_w & {4096, 6144} or linear1_out & _F2_LINEAR1:
            return "f2"
        if chroma:
            return "chroma"
        # Flux.1 has 19 double and 38 single blocks; HunyuanVideo 20 and 40.
        if hv or max_double >= 19 or max_single >= 38:
            return "hv"
        return "f1"
    if qwen:
        return "qwen"
    if dit_tb:  # diffusers MMDiT blocks only: SD3, or a Flux LoRA without single blocks
        if dit_w & {1536, 2432}:
            return "sd3"
        if dit_w & {4096, 6144}:
            return "f2"
        if 3072 in dit_w:
            return "hv" if max_double >= 19 else "f1"
        return None
    if dit_layers:
        if 3840 in dit_w:
            return "zimage"
        if 2304 in dit_w:
            return "lumina"
        return None
    if wan:
        return "wan"
    # UNet cross-attention reads the text encoder: CLIP-L 768, OpenCLIP-H 1024, L+G 2048.
    for width, fam in ((2048, "xl"), (1024, "sd2"), (768, "sd1")):
        if width in xattn_w:
            return fam
    if te3:  # kohya SD3 = te1+te2+te3; kohya Flux = te1 (CLIP-L) + te3 (T5)
        return "sd3" if te2 else "f1"
    if te2:
        return "f1" if 4096 in te2_w else "xl"  # diffusers Flux calls T5 text_encoder_2
    for width, fam in ((1280, "xl"), (1024, "sd2"), (768, "sd1")):
        if width in te_w:
            return fam
    if sgm:
        return "xl"
    return None  # te1 alone could be SDXL or Flux: say nothing


# ---------------------------------------------------------------- sidecars

# Civitai-derived sidecars carry the fine label ("Pony", "SDXL Lightning");
# A1111's "sd version" is coarse ("SDXL"), so it is only the last resort.
_KIND_RANK = {"civitai_info": 0, "api_info": 1, "civitai_model_json": 2, "lm_metadata": 3, "cm_info": 4}


def _sidecar_candidates(sidecars: object) -> list[tuple[str, str]]:
    """(label as written, key) for every readable sidecar whose label names a base, best first."""
    if not isinstance(sidecars, Iterable) or isinstance(sidecars, (str, bytes)):
        return []
    found: list[tuple[int, int, str, str]] = []
    for i, s in enumerate(sidecars):
        if getattr(s, "error", None):
            continue
        label = getattr(s, "base_label", None)
        if not isinstance(label, str) or not label.strip():
            continue
        key = _key_of(label)
        if key is None:  # "Other", "Unknown", or a label we do not know
            continue
        kind = getattr(s, "kind", None)
        found.append((_KIND_RANK.get(kind, 9) if isinstance(kind, str) else 9, i, label.strip(), key))
    found.sort()
    return [(label, key) for _, _, label, key in found]


# ---------------------------------------------------------------- file name

# Hints are matched as word-ish tokens: a letter may not touch the hint on either
# side (digits and punctuation may), so "pixel" or "ponytail" say nothing.
_HINTS: tuple[tuple[re.Pattern[str], str, str | None], ...] = tuple(
    (re.compile(p), key, label) for p, key, label in (
        (r"(?<![a-z])pony(?!v?7|[ ._-]?tail)(?:xl|diffusion|v\d|(?![a-z]))", "xl", "Pony"),
        (r"illustrious|(?<![a-z])(?:ilxl|illu|il)(?![a-z])", "xl", "Illustrious"),
        (r"(?<![a-z])noob(?:ai)?(?:xl)?(?![a-z])", "xl", "NoobAI"),
        (r"sdxl|(?<![a-z])xl(?![a-z])", "xl", None),
        (r"(?<![a-z])flux[ ._-]?2(?!\d)", "f2", None),
        (r"(?<![a-z])flux(?![ ._-]?2(?!\d))", "f1", None),
        (r"(?<![a-z])sd[ ._-]?v?3(?:[._-]?5)?(?!\d)", "sd3", None),
        (r"(?<![a-z])sd[ ._-]?v?2(?:[._-]?[01])?(?!\d)", "sd2", None),
        (r"(?<![a-z])sd[ ._-]?v?1(?:[._-]?[45])?(?!\d)", "sd1", None),
        (r"(?<![a-z])chroma(?![a-z])", "chroma", None),
        (r"(?<![a-z])qwen", "qwen", None),
        (r"(?<![a-z])z[ ._-]?image", "zimage", None),
        (r"hunyuan[ ._-]?video|(?<![a-z])hyv(?![a-z])", "hv", None),
        (r"stable[ ._-]?cascade", "sc", None),
        (r"(?<![a-z])anima(?![a-z])", "anima", None),
    )
)
# camelCase words are split first ("charPonyXL" -> "char_Pony_XL", "SDXLStyle" ->
# "SDXL_Style") so glued hints still stand alone; "PIXEL" has no such seam.
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_EXTS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")


def _name_hint(file_name: object) -> tuple[str | None, str | None]:
    """(family, label) from the file name, or (None, None) when absent or ambiguous."""
    if not isinstance(file_name, str):
        return None, None
    stem = file_name.replace("\\", "/").rsplit("/", 1)[-1][:256]
    for ext in _EXTS:
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    low = _CAMEL.sub("_", stem).lower()
    keys: set[str] = set()
    labels: set[str] = set()
    for rx, key, label in _HINTS:
        if rx.search(low):
            keys.add(key)
            if label:
                labels.add(label)
    if len(keys) != 1:  # "sd15_to_sdxl" says two things: believe neither
        return None, None
    key = keys.pop()
    return key, (labels.pop() if key == "xl" and len(labels) == 1 else None)


# ---------------------------------------------------------------- entry point

# Tensors cannot cheaply tell these apart from Flux.1 (same blocks, same width),
# so a sidecar naming one of them refines a tensor-only "f1".
_TENSOR_REFINABLE = {"f1": frozenset({"chroma", "f2", "hv"})}


def detect_base(
    metadata: dict[str, str],
    tensors: dict[str, list[int]],
    sidecars: list[SidecarFacts],
    file_name: str,
) -> BaseModel:
    """Base model of one LoRA. Evidence order: ss_base_model_version, modelspec,
    tensors, sidecar label, file name. The first that answers gives the family;
    a label is kept only when it agrees with that family."""
    meta = metadata if isinstance(metadata, dict) else {}
    key: str | None = _key_of(meta.get("ss_base_model_version"))
    source: str | None = "ss_base_model_version" if key else None
    if key is None:
        key = _key_of(meta.get("modelspec.architecture"), cut_slash=True)
        source = "modelspec" if key else None
    if key is None:
        key = _family_from_tensors(tensors)
        source = "tensors" if key else None
    side = _sidecar_candidates(sidecars)
    label: str | None = None
    if key is None:
        if side:
            label, key = side[0]
            source = "sidecar"
        else:
            key, label = _name_hint(file_name)
            source = "name" if key else None
    else:
        # A sidecar label that names the same family is the finer description.
        label = next((lab for lab, k in side if k == key), None)
        if label is None and source == "tensors" and key in _TENSOR_REFINABLE:
            refined = next(((lab, k) for lab, k in side if k in _TENSOR_REFINABLE[key]), None)
            if refined:
                label, key = refined
                source = "sidecar"
        if label is None and key == "xl":
            hint_key, hint_label = _name_hint(file_name)
            if hint_key == "xl":
                label = hint_label
    return BaseModel(key if key in FAMILIES else None, label, source)
