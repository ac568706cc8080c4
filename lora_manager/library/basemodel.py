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
from collections.abc import Callable, Iterable

from .records import BaseModel, SidecarFacts
from .tensor_names import TensorNames, TensorSummary, names_of

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

# Flux.2 single-block linear1 output = 3*hidden + 2*mlp (gated): 4B, 9B, dev.
# Flux.1's is 21504 (3*3072 + 4*3072), so this tells Klein 4B apart at equal width.
_F2_LINEAR1 = frozenset({27648, 36864, 55296})
_F2_WIDTHS = frozenset({4096, 6144})
_SD3_DIT_WIDTHS = frozenset({1536, 2432})


def _has(mark: str) -> Callable[[TensorSummary], bool]:
    return lambda s: mark in s.marks


_flux, _dit_tb, _dit_layers = _has("flux_blocks"), _has("dit_tb"), _has("dit_layers")


# (family, predicate) over the summary of the names (tensor_names.py), tried in order; the
# first that holds answers. A family of None ends the search with no answer: the layout is
# known but its width is not, and the later, weaker rules must not guess. Names settle the
# layout; widths of down weights settle what names cannot.
FAMILY_RULES: tuple[tuple[str | None, Callable[[TensorSummary], bool]], ...] = (
    ("sd3", _has("mmdit")),
    ("f2", lambda s: _flux(s) and bool(s.dit_widths & _F2_WIDTHS or s.linear1_out & _F2_LINEAR1)),
    ("chroma", lambda s: _flux(s) and "chroma" in s.marks),
    # Flux.1 has 19 double and 38 single blocks; HunyuanVideo 20 and 40.
    ("hv", lambda s: _flux(s) and ("hv" in s.marks or s.max_double >= 19 or s.max_single >= 38)),
    ("f1", _flux),
    ("qwen", _has("qwen")),
    # diffusers MMDiT blocks only: SD3, or a Flux LoRA without single blocks
    ("sd3", lambda s: _dit_tb(s) and bool(s.dit_widths & _SD3_DIT_WIDTHS)),
    ("f2", lambda s: _dit_tb(s) and bool(s.dit_widths & _F2_WIDTHS)),
    ("hv", lambda s: _dit_tb(s) and 3072 in s.dit_widths and s.max_double >= 19),
    ("f1", lambda s: _dit_tb(s) and 3072 in s.dit_widths),
    (None, _dit_tb),
    ("zimage", lambda s: _dit_layers(s) and 3840 in s.dit_widths),
    ("lumina", lambda s: _dit_layers(s) and 2304 in s.dit_widths),
    (None, _dit_layers),
    ("wan", _has("wan")),
    # UNet cross-attention reads the text encoder: CLIP-L 768, OpenCLIP-H 1024, L+G 2048.
    ("xl", lambda s: 2048 in s.xattn_widths),
    ("sd2", lambda s: 1024 in s.xattn_widths),
    ("sd1", lambda s: 768 in s.xattn_widths),
    # kohya SD3 = te1+te2+te3; kohya Flux = te1 (CLIP-L) + te3 (T5)
    ("sd3", lambda s: "te3" in s.marks and "te2" in s.marks),
    ("f1", _has("te3")),
    ("f1", lambda s: "te2" in s.marks and 4096 in s.te2_widths),  # diffusers Flux calls T5 text_encoder_2
    ("xl", _has("te2")),
    ("xl", lambda s: 1280 in s.te_widths),
    ("sd2", lambda s: 1024 in s.te_widths),
    ("sd1", lambda s: 768 in s.te_widths),
    ("xl", _has("sgm")),
    # te1 alone could be SDXL or Flux: no rule, no answer
)


def _family_from_tensors(tensors: object) -> str | None:
    """Base key from the tensor names and shapes, or None."""
    summary = names_of(tensors).summary
    for family, holds in FAMILY_RULES:
        if holds(summary):
            return family
    return None


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
    tensors: dict[str, list[int]] | TensorNames,
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
