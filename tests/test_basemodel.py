"""detect_base: each evidence source, its order, conflicts, and garbage input."""

from __future__ import annotations

import pytest

from lora_manager.library.basemodel import FAMILIES, detect_base, family_of_label
from lora_manager.library.records import BaseModel, SidecarFacts

R = 8  # rank used in the fixtures


def lora(names: dict[str, int], r: int = R, conv: dict[str, int] | None = None) -> dict[str, list[int]]:
    """kohya-style down/up/alpha triples: {module: in_features}; out = in for simplicity."""
    out: dict[str, list[int]] = {}
    for mod, width in names.items():
        out[f"{mod}.lora_down.weight"] = [r, width]
        out[f"{mod}.lora_up.weight"] = [width, r]
        out[f"{mod}.alpha"] = []
    for mod, width in (conv or {}).items():
        out[f"{mod}.lora_down.weight"] = [r, width, 3, 3]
        out[f"{mod}.lora_up.weight"] = [width, r, 1, 1]
        out[f"{mod}.alpha"] = []
    return out


def peft(names: dict[str, int], r: int = R) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for mod, width in names.items():
        out[f"{mod}.lora_A.weight"] = [r, width]
        out[f"{mod}.lora_B.weight"] = [width, r]
    return out


def _sd_unet(te: str, te_w: int, mlp_w: int, xattn: int) -> dict[str, list[int]]:
    unet = "lora_unet_down_blocks_{b}_attentions_0_transformer_blocks_0_{m}"
    return lora({
        f"{te}_text_model_encoder_layers_0_self_attn_q_proj": te_w,
        f"{te}_text_model_encoder_layers_0_self_attn_out_proj": te_w,
        f"{te}_text_model_encoder_layers_0_mlp_fc1": te_w,
        f"{te}_text_model_encoder_layers_0_mlp_fc2": mlp_w,
        unet.format(b=0, m="attn1_to_q"): 320,
        unet.format(b=0, m="attn2_to_q"): 320,
        unet.format(b=0, m="attn2_to_k"): xattn,
        unet.format(b=0, m="attn2_to_v"): xattn,
        unet.format(b=1, m="ff_net_2"): 2560,
        "lora_unet_down_blocks_0_attentions_0_proj_in": 320,
    })


KOHYA_SD15 = _sd_unet("lora_te", 768, 3072, 768)
KOHYA_SD2 = _sd_unet("lora_te", 1024, 4096, 1024)
KOHYA_SDXL = lora({
    "lora_te1_text_model_encoder_layers_0_self_attn_k_proj": 768,
    "lora_te2_text_model_encoder_layers_0_self_attn_k_proj": 1280,
    "lora_te2_text_model_encoder_layers_31_mlp_fc2": 5120,
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q": 640,
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k": 2048,
    "lora_unet_middle_block_1_transformer_blocks_9_attn2_to_v": 2048,
    "lora_unet_output_blocks_0_1_transformer_blocks_0_ff_net_0_proj": 1280,
})
KOHYA_SDXL_UNET_ATTN1_ONLY = lora({
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q": 640,
    "lora_unet_output_blocks_0_1_transformer_blocks_1_attn1_to_k": 1280,
})
KOHYA_FLUX = {
    **lora({
        "lora_te1_text_model_encoder_layers_0_self_attn_q_proj": 768,
        "lora_unet_double_blocks_0_img_attn_qkv": 3072,
        "lora_unet_double_blocks_0_img_attn_proj": 3072,
        "lora_unet_double_blocks_0_img_mlp_0": 3072,
        "lora_unet_double_blocks_18_txt_mlp_2": 12288,
        "lora_unet_single_blocks_37_linear2": 15360,
    }),
    "lora_unet_single_blocks_37_linear1.lora_down.weight": [R, 3072],
    "lora_unet_single_blocks_37_linear1.lora_up.weight": [21504, R],
}
DIFFUSERS_FLUX = peft({
    "transformer.x_embedder": 64,
    "transformer.transformer_blocks.0.attn.to_q": 3072,
    "transformer.transformer_blocks.0.attn.add_k_proj": 3072,
    "transformer.transformer_blocks.18.ff_context.net.2": 12288,
    "transformer.single_transformer_blocks.37.attn.to_k": 3072,
    "transformer.single_transformer_blocks.37.proj_mlp": 3072,
})
DIFFUSERS_FLUX_DOUBLE_ONLY = peft({
    "transformer.transformer_blocks.0.attn.to_q": 3072,
    "transformer.transformer_blocks.0.attn.to_out.0": 3072,
})
KOHYA_SD3 = lora({
    "lora_unet_joint_blocks_0_context_block_attn_qkv": 1536,
    "lora_unet_joint_blocks_0_x_block_attn_qkv": 1536,
    "lora_unet_joint_blocks_23_x_block_mlp_fc1": 1536,
})
DIFFUSERS_SD3 = peft({
    "transformer.transformer_blocks.0.attn.to_q": 1536,
    "transformer.transformer_blocks.0.attn.add_q_proj": 1536,
    "transformer.transformer_blocks.23.ff.net.2": 6144,
})
DIFFUSERS_SD35L = peft({"transformer.transformer_blocks.37.attn.to_k": 2432})
PEFT_SD15 = peft({
    "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k": 768,
    "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q": 320,
    "text_encoder.text_model.encoder.layers.0.self_attn.q_proj": 768,
})
PEFT_SD2_UNET = peft({"unet.up_blocks.1.attentions.2.transformer_blocks.0.attn2.to_v": 1024})
PEFT_SDXL = peft({
    "unet.down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_k": 2048,
    "text_encoder.text_model.encoder.layers.0.self_attn.q_proj": 768,
    "text_encoder_2.text_model.encoder.layers.0.self_attn.q_proj": 1280,
})
LOHA_SD15 = {
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.hada_w1_a": [320, R],
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.hada_w1_b": [R, 768],
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.hada_w2_a": [320, R],
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.hada_w2_b": [R, 768],
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha": [],
}
LOKR_SDXL = {
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lokr_w1": [4, 4],
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lokr_w2": [160, 512],
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.alpha": [],
}
DORA_SDXL = {
    **KOHYA_SDXL,
    "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.dora_scale": [1, 2048],
}
HV_MUSUBI = lora({
    "lora_unet_double_blocks_0_img_attn_qkv": 3072,
    "lora_unet_double_blocks_19_img_mlp_fc1": 3072,
    "lora_unet_single_blocks_39_linear2": 15360,
})
CHROMA = {**KOHYA_FLUX, **lora({"lora_unet_distilled_guidance_layer_layers_0_in_layer": 5120})}
FLUX2_KLEIN_9B = lora({"lora_unet_double_blocks_0_img_attn_qkv": 4096, "lora_unet_single_blocks_23_linear2": 16384})
FLUX2_KLEIN_4B = {
    "lora_unet_single_blocks_19_linear1.lora_down.weight": [R, 3072],
    "lora_unet_single_blocks_19_linear1.lora_up.weight": [27648, R],
}
QWEN = peft({
    "transformer.transformer_blocks.0.attn.to_q": 3072,
    "transformer.transformer_blocks.0.img_mlp.net.0.proj": 3072,
    "transformer.transformer_blocks.59.txt_mlp.net.2": 12288,
})
ZIMAGE = peft({
    "diffusion_model.layers.0.attention.to_q": 3840,
    "diffusion_model.layers.29.feed_forward.w1": 3840,
})
LUMINA2 = peft({"diffusion_model.layers.0.attention.qkv": 2304})
WAN = peft({"diffusion_model.blocks.0.cross_attn.k": 5120, "diffusion_model.blocks.0.self_attn.q": 5120})


def base(meta=None, tensors=None, sidecars=None, name="lora.safetensors") -> BaseModel:
    return detect_base(meta or {}, tensors or {}, sidecars or [], name)


def side(label, kind="civitai_info", error=None) -> SidecarFacts:
    return SidecarFacts(kind=kind, name="x." + kind, base_label=label, error=error)


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
    "pixel_art.safetensors", "PIXEL_ART.safetensors", "ponytail.safetensors", "girlPonyTail.safetensors", "excel_sheet.safetensors",
    "influx.safetensors", "chromatic.safetensors", "animal.safetensors", "sd15_to_sdxl.safetensors",
    "flux_xl_mix.safetensors", "sd10.safetensors", "", "lora.safetensors", "🎨.safetensors",
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
