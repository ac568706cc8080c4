"""The loaded checkpoint's family in our vocabulary (library/basemodel.FAMILIES), read from the host.

SDNext names the loaded pipeline's kind in `shared.sd_model_type` ('sd', 'sdxl',
'sd3', 'f1', 'none', ...), which is not the `sd_version` vocabulary LoRAs are
labelled with ('sd1', 'sd2', 'xl', ...): the two are mapped here. 'sd' covers
SD 1.x and 2.x; the UNet's cross-attention width (768 / 1024) tells them apart.
"""

from __future__ import annotations

from typing import Any

from ..library.basemodel import FAMILIES

# SDNext model types that name the same base under another word
ALIASES = {"sdxl": "xl", "sd15": "sd1", "sd21": "sd2", "flux": "f1", "flux2": "f2", "hunyuanvideo": "hv",
           "stablecascade": "sc", "z_image": "zimage", "zimageturbo": "zimage", "qwenimage": "qwen"}


def family_of_model_type(model_type: Any, sd_model: Any = None) -> str | None:
    """'sdxl' -> 'xl', 'sd' -> 'sd1' or 'sd2', a family -> itself; None for 'none', 'ldm' and unknown kinds."""
    if not isinstance(model_type, str):
        return None
    kind = model_type.strip().lower()
    if kind == "sd":
        width = getattr(getattr(getattr(sd_model, "unet", None), "config", None), "cross_attention_dim", None)
        return "sd2" if width == 1024 else "sd1"
    kind = ALIASES.get(kind, kind)
    return kind if kind in FAMILIES else None


def loaded_family() -> str | None:
    """The host's loaded checkpoint family now (the user may switch models at any time)."""
    from modules import shared

    kind = getattr(shared, "sd_model_type", None)
    if kind in (None, "none"):
        return None
    model = getattr(shared, "sd_model", None) if kind == "sd" else None
    return family_of_model_type(kind, model)


def loaded_checkpoint() -> str | None:
    """The loaded checkpoint's name as the host's settings say it (GET /hosts shows it)."""
    from modules import shared

    name = getattr(getattr(shared, "opts", None), "sd_model_checkpoint", None)
    return name if isinstance(name, str) and name else None
