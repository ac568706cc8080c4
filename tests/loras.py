"""Write real LoRA files for tests: real safetensors through the safetensors library."""

from __future__ import annotations

import hashlib
import os
import struct

import numpy as np
from safetensors.numpy import save_file

SHAPES = {
    # family: (text-encoder tensors, unet cross-attention key width)
    "sd1": ({"lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": (4, 768)}, 768),
    "sd2": ({"lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": (4, 1024)}, 1024),
    "xl": (
        {
            "lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": (4, 768),
            "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": (4, 1280),
        },
        2048,
    ),
}


def tensors(family: str = "sd1", seed: int = 0, rank: int = 4) -> dict[str, np.ndarray]:
    te, width = SHAPES[family]
    rng = np.random.default_rng(seed)
    out = {name: rng.standard_normal((rank, shape[1])).astype(np.float16) for name, shape in te.items()}
    key = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k"
    out[key + ".lora_down.weight"] = rng.standard_normal((rank, width)).astype(np.float16)
    out[key + ".lora_up.weight"] = rng.standard_normal((320, rank)).astype(np.float16)
    out[key + ".alpha"] = np.array(rank / 2, dtype=np.float16)
    return out


def write_lora(path, family: str = "sd1", seed: int = 0, metadata: dict[str, str] | None = None, rank: int = 4) -> str:
    path = str(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    meta = {"ss_network_module": "networks.lora", "ss_network_dim": str(rank), "ss_network_alpha": str(rank / 2)}
    meta.update(metadata or {})
    save_file(tensors(family, seed, rank), path, metadata=meta)
    return path


def tensor_sha256(path) -> str:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        f.seek(8 + n)
        return hashlib.sha256(f.read()).hexdigest()


def file_sha256(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()
