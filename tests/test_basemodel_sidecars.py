"""The base model from sidecar labels: when they answer, refine, or are dropped."""

from __future__ import annotations

import pytest

from lora_manager.library.basemodel import FAMILIES, detect_base, family_of_label
from lora_manager.library.records import BaseModel

from .basemodel_samples import DIFFUSERS_FLUX, KOHYA_SD15, KOHYA_SDXL, base, lora, side

# ------------------------------------------------------------ sidecar labels

@pytest.mark.parametrize("label, family", [
    ("SD 1.4", "sd1"), ("SD 1.5", "sd1"), ("SD 1.5 LCM", "sd1"), ("SD 1.5 Hyper", "sd1"),
    ("SD 2.0", "sd2"), ("SD 2.1", "sd2"), ("SD 2.1 768", "sd2"),
    ("SDXL 0.9", "xl"), ("SDXL 1.0", "xl"), ("SDXL Lightning", "xl"), ("SDXL Turbo", "xl"),
    ("Pony", "xl"), ("Illustrious", "xl"), ("NoobAI", "xl"),
    ("SD 3", "sd3"), ("SD 3.5", "sd3"), ("SD 3.5 Large", "sd3"), ("SD 3.5 Medium", "sd3"),
    ("Flux.1 D", "f1"), ("Flux.1 S", "f1"), ("Flux.1 Kontext", "f1"), ("Flux.1 Krea", "f1"),
    ("Flux.2 D", "f2"), ("Stable Cascade", "sc"), ("Hunyuan Video", "hv"), ("Chroma", "chroma"),
    ("Qwen", "qwen"), ("ZImageTurbo", "zimage"), ("Anima", "anima"),
    ("SD1", "sd1"), ("SD2", "sd2"), ("SDXL", "xl"), ("SD3", "sd3"),  # A1111 "sd version"
    ("Wan Video 14B t2v", None), ("Hunyuan 1", None), ("Pony V7", None), ("Lumina", None),
    ("Other", None), ("Unknown", None), ("", None), ("Animagine", None),
])
def test_family_of_label(label, family):
    assert family_of_label(label) == family


def test_families_vocabulary():
    assert FAMILIES == ("sd1", "sd2", "xl", "sd3", "sc", "f1", "f2", "hv", "chroma", "zimage", "anima", "qwen")
    assert family_of_label(None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("label, family", [
    ("Pony", "xl"), ("SDXL 1.0", "xl"), ("SD 1.5", "sd1"), ("Flux.1 D", "f1"), ("Illustrious", "xl"),
])
def test_sidecar_answers_when_file_is_silent(label, family):
    assert base(sidecars=[side(label)], name="pony_sd15_flux.pt") == BaseModel(family, label, "sidecar")


def test_sidecar_label_kept_when_it_agrees_with_header():
    got = base({"ss_base_model_version": "sdxl_base_v1-0"}, sidecars=[side("Pony")])
    assert got == BaseModel("xl", "Pony", "ss_base_model_version")


def test_sidecar_label_dropped_when_it_contradicts_header():
    got = base({"ss_base_model_version": "sd_v1"}, sidecars=[side("SDXL 1.0")])
    assert got == BaseModel("sd1", None, "ss_base_model_version")


def test_sidecar_label_dropped_when_it_contradicts_tensors():
    assert base({}, KOHYA_SD15, [side("Pony")]) == BaseModel("sd1", None, "tensors")


def test_matching_sidecar_chosen_among_conflicting_ones():
    got = base({}, KOHYA_SDXL, [side("SD 1.5", "lm_metadata"), side("Illustrious", "cm_info")])
    assert got == BaseModel("xl", "Illustrious", "tensors")


def test_civitai_sidecar_preferred_over_a1111():
    sidecars = [side("SDXL", "a1111_json"), side("Pony", "civitai_info")]
    assert base(sidecars=sidecars) == BaseModel("xl", "Pony", "sidecar")
    assert base({}, KOHYA_SDXL, sidecars) == BaseModel("xl", "Pony", "tensors")


@pytest.mark.parametrize("sidecar", [
    side("SDXL 1.0", error="bad json"), side("Other"), side(None), side("   "), side(12),  # type: ignore[arg-type]
])
def test_unusable_sidecars_are_skipped(sidecar):
    assert base(sidecars=[sidecar], name="x_sd15.safetensors") == BaseModel("sd1", None, "name")


@pytest.mark.parametrize("label, family", [("Chroma", "chroma"), ("Flux.2 Klein 4B", "f2"), ("Hunyuan Video", "hv")])
def test_sidecar_refines_tensor_flux(label, family):
    # Tensors cannot tell these from Flux.1 cheaply; the sidecar can.
    assert base({}, DIFFUSERS_FLUX, [side(label)]) == BaseModel(family, label, "sidecar")


def test_sidecar_does_not_refine_a_header():
    got = base({"ss_base_model_version": "flux1"}, sidecars=[side("Chroma")])
    assert got == BaseModel("f1", None, "ss_base_model_version")


def test_sidecar_outside_vocabulary():
    assert base(sidecars=[side("Wan Video 14B t2v")], name="x_xl") == BaseModel(None, "Wan Video 14B t2v", "sidecar")


# ------------------------------------------------------------ file-name hints

@pytest.mark.parametrize("name, family, label", [
    ("style_sdxl_v2.safetensors", "xl", None),
    ("style_xl.safetensors", "xl", None), ("xl_style.safetensors", "xl", None),
    ("AnimagineXL-outfit.safetensors", "xl", None), ("v2XL.safetensors", "xl", None),
    ("char_pony.safetensors", "xl", "Pony"), ("charPonyXL_v6.safetensors", "xl", "Pony"),
    ("char-ponyv6.safetensors", "xl", "Pony"), ("pony_xl_char.safetensors", "xl", "Pony"),
    ("char_illustrious.safetensors", "xl", "Illustrious"), ("char_IL_v1.safetensors", "xl", "Illustrious"),
    ("charIllustriousXL.safetensors", "xl", "Illustrious"), ("char_NoobAI.safetensors", "xl", "NoobAI"),
    ("char-noob-v1.safetensors", "xl", "NoobAI"), ("char_pony_illustrious.safetensors", "xl", None),
    ("style_flux.safetensors", "f1", None), ("FLUX1-dev-style.safetensors", "f1", None),
    ("style_flux2.safetensors", "f2", None), ("style_flux.2_klein.safetensors", "f2", None),
    ("style_sd15.safetensors", "sd1", None), ("style_sd1.5.safetensors", "sd1", None),
    ("style-SD_1.5.safetensors", "sd1", None), ("style_sd21.safetensors", "sd2", None),
    ("style_sd3.safetensors", "sd3", None), ("style_sd3.5_large.safetensors", "sd3", None),
    ("chroma_style.safetensors", "chroma", None), ("qwen_style.safetensors", "qwen", None),
    ("z-image-turbo_style.safetensors", "zimage", None), ("hunyuan_video_style.safetensors", "hv", None),
    ("stable_cascade_style.safetensors", "sc", None),
    ("sub/dir/style_sdxl.safetensors", "xl", None), ("C:\\loras\\style_sd15.pt", "sd1", None),
])
def test_name_hints(name, family, label):
    assert base(name=name) == BaseModel(family, label, "name")


@pytest.mark.parametrize("name", [
    "pixel_art.safetensors", "PIXEL_ART.safetensors", "ponytail.safetensors", "girlPonyTail.safetensors",
    "excel_sheet.safetensors", "influx.safetensors", "chromatic.safetensors", "animal.safetensors",
    "sd15_to_sdxl.safetensors", "flux_xl_mix.safetensors", "sd10.safetensors", "", "lora.safetensors", "🎨.safetensors",
])
def test_name_without_hint_or_ambiguous(name):
    assert base(name=name) == BaseModel(None, None, None)


def test_name_label_added_to_header_family_only_when_it_agrees():
    meta = {"ss_base_model_version": "sdxl_base_v1-0"}
    assert base(meta, name="char_pony.safetensors") == BaseModel("xl", "Pony", "ss_base_model_version")
    assert base({"ss_base_model_version": "sd_v1"}, name="char_pony.safetensors") == \
        BaseModel("sd1", None, "ss_base_model_version")
    # A sidecar's label is the better one.
    assert base(meta, sidecars=[side("SDXL 1.0")], name="char_pony") == \
        BaseModel("xl", "SDXL 1.0", "ss_base_model_version")


def test_sidecar_beats_name():
    assert base(sidecars=[side("SD 1.5")], name="style_sdxl.safetensors") == BaseModel("sd1", "SD 1.5", "sidecar")


# ------------------------------------------------------------ garbage

@pytest.mark.parametrize("meta, tensors, sidecars, name", [
    (None, None, None, None),
    ({"ss_base_model_version": None, "modelspec.architecture": 5}, {5: [1]}, [object()], 7),
    ({"ss_base_model_version": "x" * 10_000}, {"": []}, [None, "str"], "x" * 10_000),
    ("not a dict", ["not", "a", "dict"], "not a list", b"bytes"),
    ({"ss_base_model_version": "{\"sd\": 1}"}, {"a": "shape?"}, [side(["SDXL"])], "\x00\n"),  # type: ignore[arg-type]
])
def test_garbage_never_raises(meta, tensors, sidecars, name):
    got = detect_base(meta, tensors, sidecars, name)  # type: ignore[arg-type]
    assert isinstance(got, BaseModel)
    assert got.family in FAMILIES or got.family is None


def test_sgm_middle_block_alone_is_xl():
    t = lora({"lora_unet_middle_block_1_transformer_blocks_0_attn1_to_q": 1280})
    assert base({}, t) == BaseModel("xl", None, "tensors")
