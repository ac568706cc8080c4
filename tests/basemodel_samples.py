"""Tensor layouts of real LoRA files (names and shapes) and helpers for the base-model tests."""

from __future__ import annotations

from lora_manager.library.basemodel import detect_base
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
