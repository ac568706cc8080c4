"""The small library `--demo` writes: hand-picked LoRAs that show every feature.
"""

from __future__ import annotations

import random

from .files import Spec, new_stats, write_lora
from .meta import BASES
from .words import make_concept

# --------------------------------------------------------------------------- the --demo library

_DEMO = [  # stem, family, label, network, kind, name, metadata, sidecars, preview
    ("characters/aurelia_starfall_v2", "sd1", "SD 1.5", "lora", "character", "Aurelia Starfall",
     "kohya", ("a1111", "txt"), "preview.png"),
    ("characters/kaelin_ironvale-000008", "sd1", "SD 1.5", "locon", "character", "Kaelin Ironvale", "kohya", (), "png"),
    ("characters/Mirae (Chrono Drifters) v3", "xl", "Pony", "lora", "character", "Mirae (Chrono Drifters)",
     "kohya+spec", ("civitai_info",), "example.1.jpg"),
    ("characters/pony/saoirse_kestrel_pony", "xl", "Pony", "loha", "character", "Saoirse Kestrel",
     "kohya", ("sdnext", "description_txt"), "thumb.jpg"),
    ("characters/illustrious/hanae_moonbrook_ill", "xl", "Illustrious", "dora", "character", "Hanae Moonbrook",
     "kohya+ssmd", ("comfy_lm",), "preview.png"),
    ("characters/noobai/wren_thornfield_noob.v1.1", "xl", "NoobAI", "lora", "character", "Wren Thornfield",
     "kohya", ("cm_info",), "png"),
    ("characters/キャラクター/ねこみみ少女", "sd1", "SD 1.5", "lora", "character", "ねこみみ少女",
     "kohya+ssmd", ("a1111",), "preview.png"),
    ("styles/watercolor_dreamscape.v2", "sd1", "SD 1.5", "lora", "style", "Watercolor Dreamscape",
     "kohya", ("a1111",), "preview.png"),
    ("styles/ink_wash_lineart", "sd1", "SD 1.5", "lokr", "style", "Ink Wash Lineart",
     "kohya", ("civitai_info", "a1111"), "example.1.jpg"),
    ("styles/sd2/art_nouveau_illustration", "sd2", "SD 2.1", "lora", "style", "Art Nouveau Illustration",
     "kohya+spec", ("txt",), "png"),
    ("styles/sd2/risograph_palette_sd2", "sd2", "SD 2.0", "locon", "style", "Risograph Palette", "kohya", (), None),
    ("styles/xl/neon_noir_style", "xl", "SDXL 1.0", "lora", "style", "Neon Noir Style",
     "kohya+spec", ("sdnext", "description_txt"), "thumb.jpg"),
    ("styles/xl/ukiyo-e_lighting.v1.5", "xl", "SDXL 1.0", "loha", "style", "Ukiyo-e Lighting",
     "kohya", ("api_info", "a1111"), "preview.png"),
    ("styles/xl/pixel_art_palette", "xl", "SDXL 1.0", "lokr", "style", "Pixel Art Palette",
     "kohya", ("comfy_lm", "civitai_info"), "preview.png"),
    ("styles/xl/夜桜スタイル", "xl", "Illustrious", "lora", "style", "夜桜スタイル", "kohya", ("a1111",), "png"),
    ("styles/xl/Ölgemälde Style", "xl", "SDXL 1.0", "dora", "style", "Ölgemälde",
     "kohya+spec", ("cm_info",), "thumb.jpg"),
    ("artists/by_velmora_quill", "xl", "Pony", "lora", "artist", "Velmora Quill Style",
     "kohya", ("sdnext",), "preview.png"),
    ("artists/Orsolya Dane Style v2", "sd1", "SD 1.5", "lora", "artist", "Orsolya Dane Style",
     "kohya", ("civitai_info",), "example.1.jpg"),
    ("clothing/victorian_ballgown", "sd1", "SD 1.5", "lora", "clothing", "Victorian Ballgown",
     "kohya", ("comfy_lm",), "preview.png"),
    ("clothing/techwear_jacket_xl", "xl", "SDXL 1.0", "locon", "clothing", "Techwear Jacket",
     "kohya", ("cm_info",), "png"),
    ("clothing/pony/sailor_uniform_pony_v3", "xl", "Pony", "lora", "clothing", "Sailor Uniform",
     "kohya", ("a1111", "txt"), "preview.png"),
    ("objects/clockwork_owl", "sd1", "SD 1.5", "loha", "object", "Clockwork Owl",
     "kohya", ("description_txt",), "thumb.jpg"),
    ("objects/crystal_sword_xl", "xl", "SDXL 1.0", "lora", "object", "Crystal Sword", "kohya+ssmd", (), "preview.png"),
    ("poses/over_the_shoulder", "sd1", "SD 1.5", "lora", "pose", "Over The Shoulder", "kohya", ("a1111",), None),
    ("poses/dynamic_jump_ill", "xl", "Illustrious", "lora", "pose", "Dynamic Jump",
     "kohya", ("civitai_info",), "example.1.jpg"),
    ("concepts/floating_islands", "xl", "SDXL 1.0", "lora", "scene", "Floating Islands",
     "kohya+spec", ("sdnext",), "preview.png"),
    ("concepts/rainy_window.sd15", "sd1", "SD 1.5", "locon", "scene", "Rainy Window", "kohya", (), "png"),
    ("flux/bioluminescent_forest_flux", "f1", "Flux.1 D", "lora", "scene", "Bioluminescent Forest",
     "kohya+spec", ("comfy_lm",), "preview.png"),
    ("flux/Velvet Circus Poster", "f1", "Flux.1 D", "peft", "style", "Velvet Circus Poster",
     "aitk", ("civitai_info",), "example.1.jpg"),
    ("flux/creme_brulee_food_photo", "f1", "Flux.1 S", "peft", "object", "Crème Brûlée", "none", (), "thumb.jpg"),
    ("flux/styles/film_grain_polaroid_flux.v2", "f1", "Flux.1 D", "lokr", "style", "Film Grain Polaroid",
     "kohya", ("sdnext",), "png"),
    ("flux/isolde_ravenscar_flux", "f1", "Flux.1 D", "dora", "character", "Isolde Ravenscar",
     "kohya+ssmd", ("cm_info",), "preview.png"),
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
            spec = Spec(i, source.family, source.label, source.sd_model,
                        make_concept(rng, source.concept.kind, source.concept.name),
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
