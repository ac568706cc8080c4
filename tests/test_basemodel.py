"""detect_base: each evidence source, its order, conflicts, and garbage input."""

from __future__ import annotations

import pytest

from lora_manager.library.records import BaseModel

from .basemodel_samples import (
    CHROMA,
    DIFFUSERS_FLUX,
    DIFFUSERS_FLUX_DOUBLE_ONLY,
    DIFFUSERS_SD3,
    DIFFUSERS_SD35L,
    DORA_SDXL,
    FLUX2_KLEIN_4B,
    FLUX2_KLEIN_9B,
    HV_MUSUBI,
    KOHYA_FLUX,
    KOHYA_SD2,
    KOHYA_SD3,
    KOHYA_SD15,
    KOHYA_SDXL,
    KOHYA_SDXL_UNET_ATTN1_ONLY,
    LOHA_SD15,
    LOKR_SDXL,
    LUMINA2,
    PEFT_SD2_UNET,
    PEFT_SD15,
    PEFT_SDXL,
    QWEN,
    WAN,
    ZIMAGE,
    base,
    lora,
)

# ------------------------------------------------------------ header: ss_base_model_version

@pytest.mark.parametrize("value, family", [
    ("sd_v1", "sd1"), ("sd_v2", "sd2"), ("sd_v2_v", "sd2"), ("sd_v2_768_v", "sd2"),
    ("sdxl_base_v0-9", "xl"), ("sdxl_base_v1-0", "xl"), ("SDXL_BASE_V1-0", "xl"),
    ("sd3", "sd3"), ("sd3.5", "sd3"), ("sd3_5_large", "sd3"),
    ("flux1", "f1"), ("flux1-dev", "f1"), ("flux1_schnell", "f1"), ("flux2_klein_9b", "f2"),
    ("chroma", "chroma"), ("stable_cascade", "sc"), ("hunyuan_video", "hv"),
    ("zimage", "zimage"), ("z_image_turbo", "zimage"), ("qwen_image", "qwen"), ("anima", "anima"),
    ("sd_1.5", "sd1"), ("sdxl_1.0", "xl"), ("  sd_v1  ", "sd1"),  # ai-toolkit spellings, padding
])
def test_ss_base_model_version(value, family):
    assert base({"ss_base_model_version": value}) == BaseModel(family, None, "ss_base_model_version")


@pytest.mark.parametrize("value", ["lumina2", "wan_2.1", "hunyuan_image", "hidream", "auraflow"])
def test_known_base_outside_vocabulary_answers_with_no_family(value):
    # It still ends the search: the "xl" in the name and the SD1 tensors must not win.
    got = base({"ss_base_model_version": value}, KOHYA_SD15, name="thing_xl.safetensors")
    assert got == BaseModel(None, None, "ss_base_model_version")


# ------------------------------------------------------------ header: modelspec

@pytest.mark.parametrize("arch, family", [
    ("stable-diffusion-v1/lora", "sd1"), ("stable-diffusion-v2-512/lora", "sd2"),
    ("stable-diffusion-v2-768-v/lora", "sd2"), ("stable-diffusion-xl-v1-base/lora", "xl"),
    ("stable-diffusion-xl-v1-refiner", "xl"), ("stable-diffusion-3-medium/lora", "sd3"),
    ("stable-diffusion-3.5-large/lora", "sd3"), ("stable-diffusion-3-5-large/lora", "sd3"),
    ("flux-1-dev/lora", "f1"), ("flux-1-schnell/lora", "f1"), ("Flux.1-dev/lora", "f1"),
    ("flux-2-dev/lora", "f2"), ("stable-cascade-v1-prior/lora", "sc"), ("chroma/lora", "chroma"),
    ("hunyuan-video/lora", "hv"), ("qwen-image/lora", "qwen"),
])
def test_modelspec_architecture(arch, family):
    assert base({"modelspec.architecture": arch}) == BaseModel(family, None, "modelspec")


def test_ss_base_beats_modelspec_and_garbage_ss_base_falls_through():
    meta = {"ss_base_model_version": "sd_v1", "modelspec.architecture": "stable-diffusion-xl-v1-base/lora"}
    assert base(meta).family == "sd1"
    meta["ss_base_model_version"] = "who knows"
    assert base(meta) == BaseModel("xl", None, "modelspec")


# ------------------------------------------------------------ tensors

@pytest.mark.parametrize("tensors, family", [
    pytest.param(KOHYA_SD15, "sd1", id="kohya-sd15"),
    pytest.param(KOHYA_SD2, "sd2", id="kohya-sd2"),
    pytest.param(KOHYA_SDXL, "xl", id="kohya-sdxl"),
    pytest.param(KOHYA_SDXL_UNET_ATTN1_ONLY, "xl", id="kohya-sdxl-sgm-names-only"),
    pytest.param(KOHYA_FLUX, "f1", id="kohya-flux"),
    pytest.param(DIFFUSERS_FLUX, "f1", id="diffusers-flux"),
    pytest.param(DIFFUSERS_FLUX_DOUBLE_ONLY, "f1", id="diffusers-flux-double-only"),
    pytest.param(KOHYA_SD3, "sd3", id="kohya-sd3"),
    pytest.param(DIFFUSERS_SD3, "sd3", id="diffusers-sd3"),
    pytest.param(DIFFUSERS_SD35L, "sd3", id="diffusers-sd35-large"),
    pytest.param(PEFT_SD15, "sd1", id="peft-sd15"),
    pytest.param(PEFT_SD2_UNET, "sd2", id="peft-sd2-unet"),
    pytest.param(PEFT_SDXL, "xl", id="peft-sdxl"),
    pytest.param(LOHA_SD15, "sd1", id="loha-sd15"),
    pytest.param(LOKR_SDXL, "xl", id="lokr-sdxl"),
    pytest.param(DORA_SDXL, "xl", id="dora-sdxl"),
    pytest.param(HV_MUSUBI, "hv", id="hunyuan-video"),
    pytest.param(CHROMA, "chroma", id="chroma"),
    pytest.param(FLUX2_KLEIN_9B, "f2", id="flux2-klein-9b"),
    pytest.param(FLUX2_KLEIN_4B, "f2", id="flux2-klein-4b"),
    pytest.param(QWEN, "qwen", id="qwen-image"),
    pytest.param(ZIMAGE, "zimage", id="z-image"),
    pytest.param(lora({"lora_te_text_model_encoder_layers_0_self_attn_q_proj": 768}), "sd1", id="te-only-sd1"),
    pytest.param(lora({"lora_te_text_model_encoder_layers_0_self_attn_q_proj": 1024}), "sd2", id="te-only-sd2"),
    pytest.param(lora({"lora_te1_text_model_encoder_layers_0_self_attn_q_proj": 768,
                       "lora_te2_text_model_encoder_layers_0_self_attn_q_proj": 1280}), "xl", id="te-only-sdxl"),
    pytest.param({**KOHYA_SD3, **lora({"lora_te1_x_q_proj": 768, "lora_te2_x_q_proj": 1280,
                                        "lora_te3_encoder_block_0_layer_0_SelfAttention_q": 4096})},
                 "sd3", id="sd3-with-three-encoders"),
])
def test_tensors(tensors, family):
    assert base({}, tensors) == BaseModel(family, None, "tensors")


@pytest.mark.parametrize("tensors", [LUMINA2, WAN], ids=["lumina2", "wan"])
def test_tensors_outside_vocabulary(tensors):
    assert base({}, tensors, name="x_sdxl.safetensors") == BaseModel(None, None, "tensors")


@pytest.mark.parametrize("tensors", [
    {}, {"lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight": [8, 768]},
    {"lora_unet_down_blocks_0_attentions_0_proj_in.lokr_w1": [4, 4]},  # SD1 or SD2: no width
    {"weird": [1, 2]}, {"a.lora_down.weight": []}, {"x.attn2_to_k.lora_down.weight": [8]},
    {"x.attn2_to_k.lora_down.weight": [8, 999]}, {"x.attn2_to_k.lora_down.weight": ["8", "768"]},
    {"x.attn2_to_k.lora_down.weight": None}, {"transformer.transformer_blocks.0.attn.to_q.lora_A.weight": [8, 7]},
])
def test_tensors_that_say_nothing(tensors):
    assert base({}, tensors) == BaseModel(None, None, None)


def test_header_beats_tensors():
    assert base({"ss_base_model_version": "sdxl_base_v1-0"}, KOHYA_SD15) == \
        BaseModel("xl", None, "ss_base_model_version")
