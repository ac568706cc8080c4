"""Files in a LoRA folder that are not LoRA-family networks, told apart by their tensor names.

People keep textual-inversion embeddings, VAEs, whole checkpoints and upscalers
next to their LoRAs. Listing them with a `<lora:...>` tag sends users to a
prompt that cannot work, so the probe asks here first. A file with any network
marker (lora_down, lora_A, hada_, lokr_, ...) is a network and never reaches
these rules; neither is a file with no tensors, which the probe judges itself.

Each kind is a table of name predicates, in the order they are tried. Every
rule needs positive evidence: an unknown layout stays a LoRA candidate, since
dropping a real LoRA from the list is worse than listing an odd file.
"""

from __future__ import annotations

from dataclasses import dataclass

# Pickled formats are never opened: unpickling runs code (library/probe.py).
PICKLE_EXTS = (".pt", ".ckpt")

# Names a textual-inversion file holds, and nothing else:
# A1111 safetensors (emb_params), the .pt layout saved as safetensors
# (string_to_param.*), SDXL (clip_l + clip_g), SD3/Flux-era files (+ t5).
_EMBEDDING_NAMES = frozenset({"emb_params", "clip_l", "clip_g", "t5", "t5xxl", "name", "step"})
_EMBEDDING_PREFIXES = ("string_to_param.", "string_to_token.")
_EMBEDDING_MAX_TENSORS = 8

# A whole diffusion model: the SAI/LDM layout, diffusers' UNet and DiT layouts.
_CHECKPOINT_PREFIXES = ("model.diffusion_model.",)
_DIFFUSERS_MODEL_MARKS = ("down_blocks.0.resnets.0.conv1.weight", "double_blocks.0.img_attn.qkv.weight",
                          "transformer_blocks.0.attn.to_q.weight", "joint_blocks.0.x_block.attn.qkv.weight")
# An autoencoder: encoder and decoder towers with the latent convolutions between them.
_VAE_MARKS = ("quant_conv.weight", "post_quant_conv.weight", "encoder.conv_in.weight", "decoder.conv_in.weight")
# Super-resolution nets: ESRGAN (old and new names), Real-ESRGAN compact, SwinIR, HAT, DAT.
_UPSCALER_MARKS = ("rrdb_trunk.", "conv_first.weight", "body.0.rdb1.", "model.1.sub.0.rdb1.", "conv_up1.weight",
                   "upconv1.weight", "layers.0.residual_group.", "conv_after_body.weight")


@dataclass(frozen=True, slots=True)
class OtherKind:
    """What a non-LoRA file is: `kind` for the list, `family` when the layout tells it, `message` for a person."""

    kind: str  # Embedding | VAE | Checkpoint | Upscaler
    family: str | None
    message: str


def _embedding(names: list[str], tensors: dict) -> OtherKind | None:
    if not names or len(names) > _EMBEDDING_MAX_TENSORS:
        return None
    if not all(n in _EMBEDDING_NAMES or n.startswith(_EMBEDDING_PREFIXES) for n in names):
        return None
    if not any(n in ("emb_params", "clip_l", "clip_g") or n.startswith("string_to_param.") for n in names):
        return None
    family = None
    if "clip_g" in names:
        family = "xl"
    else:
        for raw, shape in tensors.items():
            n = raw.lower() if isinstance(raw, str) else ""
            if (n == "emb_params" or n.startswith("string_to_param.")) and isinstance(shape, (list, tuple)) and shape:
                width = shape[-1]
                family = {768: "sd1", 1024: "sd2"}.get(width) if isinstance(width, int) else None
    where = f" for {family}" if family else ""
    return OtherKind("Embedding", family, f"a textual-inversion embedding{where}, not a LoRA: use it by name "
                                          "from the host's embeddings folder")


def _checkpoint(names: list[str], _tensors: dict) -> OtherKind | None:
    whole = sum(1 for n in names if n.startswith(_CHECKPOINT_PREFIXES))
    if whole >= 16 or any(n in _DIFFUSERS_MODEL_MARKS for n in names):
        return OtherKind("Checkpoint", None,
                         "a full model checkpoint, not a LoRA: it belongs in the host's models folder")
    return None


def _vae(names: list[str], _tensors: dict) -> OtherKind | None:
    present = {n.removeprefix("first_stage_model.") for n in names}
    if sum(1 for mark in _VAE_MARKS if mark in present) >= 2 or (
            "encoder.conv_in.weight" in present and "decoder.conv_out.weight" in present):
        return OtherKind("VAE", None, "a VAE, not a LoRA: it belongs in the host's VAE folder")
    return None


def _upscaler(names: list[str], _tensors: dict) -> OtherKind | None:
    hits = sum(1 for mark in _UPSCALER_MARKS if any(n.startswith(mark) or n == mark for n in names))
    if hits >= 2 or (hits == 1 and any("rdb" in n for n in names)):
        return OtherKind("Upscaler", None, "an upscaler, not a LoRA: it belongs in the host's upscaler folder")
    return None


def other_kind(tensors: object, network_type: str | None) -> OtherKind | None:
    """None for a LoRA-family network (or a file we cannot tell); else what the file is."""
    if network_type is not None or not isinstance(tensors, dict) or not tensors:
        return None
    names = [n.lower() for n in tensors if isinstance(n, str)]
    # A checkpoint holds a VAE too: it is told by its diffusion model, so it is tried first.
    for rule in (_embedding, _checkpoint, _vae, _upscaler):
        found = rule(names, tensors)
        if found is not None:
            return found
    return None
