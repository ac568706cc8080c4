"""Images written the way each tool writes its generation parameters (for the recipe tests)."""

from __future__ import annotations

import io
import json

from PIL import Image
from PIL.PngImagePlugin import PngInfo


def png(texts: dict[str, str], size=(64, 48), color=(200, 80, 40)) -> bytes:
    info = PngInfo()
    for key, value in texts.items():
        info.add_text(key, value)
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def user_comment(text: str, order: str = "be") -> bytes:
    return b"UNICODE\x00" + text.encode("utf-16-be" if order == "be" else "utf-16-le")


def with_exif(fmt: str, comment: bytes, size=(64, 48)) -> bytes:
    """A JPEG or WebP with an EXIF UserComment, as SDNext/A1111 (piexif) and Civitai write it."""
    img = Image.new("RGB", size, (30, 90, 160))
    exif = img.getexif()
    exif.get_ifd(0x8769)[0x9286] = comment
    buf = io.BytesIO()
    img.save(buf, fmt, exif=exif.tobytes())
    return buf.getvalue()


def a1111_text(lora="cat_style", tensor_hash="0123456789ab") -> str:
    return (f"a cat on a roof, <lora:{lora}:0.7>, sunset\n"
            "Negative prompt: blurry, lowres\n"
            "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 1234, Size: 512x768, "
            f"Model hash: abcdef1234, Model: dreamshaper_8, Clip skip: 2, Lora hashes: \"{lora}: {tensor_hash}\", "
            "Version: v1.10.1")


def sdnext_text(names=("cat_style", "dog_style"), hashes=("01234567", "89abcdef")) -> str:
    tags = " ".join(f"<lora:{n}:0.{i + 5}>" for i, n in enumerate(names))
    return (f"portrait of a dog {tags}\nNegative prompt: ugly\n"
            f"Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 640x640, Model: sdxl_base, "
            f"LoRA networks: {', '.join(names)}, LoRA hashes: {', '.join(hashes)}, App: SD.Next, Version: 5b8c1e0")


def civitai_text(lora_sha="abcdef0123", version_id=4242, model_id=99) -> str:
    resources = [{"type": "checkpoint", "modelVersionId": 1, "modelName": "Juggernaut"},
                 {"type": "lora", "weight": 0.9, "modelVersionId": 7, "modelName": "cat_style"},
                 {"type": "lora", "weight": 0.6, "modelVersionId": version_id, "modelId": model_id,
                  "modelName": "Far Away Style"}]
    hashes = {"model": "1122334455", "lora:cat_style": lora_sha}
    return ("a castle <lora:cat_style:0.9>\nNegative prompt: bad hands\n"
            f"Steps: 30, Sampler: Euler, CFG scale: 5, Seed: 77, Size: 832x1216, "
            f"Hashes: {json.dumps(hashes)}, Civitai resources: {json.dumps(resources)}")


def comfy_prompt(lora_file="styles/cat_style.safetensors") -> dict:
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15/realistic.safetensors"}},
        "10": {"class_type": "LoraLoader", "inputs": {"lora_name": lora_file, "strength_model": 0.8,
                                                      "strength_clip": 0.6, "model": ["4", 0], "clip": ["4", 1]}},
        "11": {"class_type": "LoraLoader", "inputs": {"lora_name": "dog_style.safetensors", "strength_model": 0.4,
                                                      "strength_clip": 0.4, "model": ["10", 0], "clip": ["10", 1]}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cozy cabin", "clip": ["11", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "watermark", "clip": ["11", 1]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 640, "batch_size": 1}},
        "3": {"class_type": "KSampler", "inputs": {"seed": 99, "steps": 25, "cfg": 7.5, "sampler_name": "euler",
                                                   "scheduler": "normal", "denoise": 1, "model": ["11", 0],
                                                   "positive": ["6", 0], "negative": ["7", 0],
                                                   "latent_image": ["5", 0]}},
    }


def comfy_workflow() -> dict:
    """The UI graph of the same: nodes with widgets_values, links [id, from, slot, to, slot, type]."""
    return {
        "nodes": [
            {"id": 4, "type": "CheckpointLoaderSimple", "widgets_values": ["realistic.safetensors"], "inputs": []},
            {"id": 10, "type": "LoraLoader", "widgets_values": ["cat_style.safetensors", 0.8, 0.6],
             "inputs": [{"name": "model", "link": 1}, {"name": "clip", "link": 2}]},
            {"id": 6, "type": "CLIPTextEncode", "widgets_values": ["a cozy cabin"], "inputs": [{"name": "clip",
                                                                                              "link": 3}]},
            {"id": 7, "type": "CLIPTextEncode", "widgets_values": ["watermark"], "inputs": [{"name": "clip",
                                                                                           "link": 4}]},
            {"id": 5, "type": "EmptyLatentImage", "widgets_values": [512, 640, 1], "inputs": []},
            {"id": 3, "type": "KSampler", "widgets_values": [99, "fixed", 25, 7.5, "euler", "normal", 1],
             "inputs": [{"name": "model", "link": 5}, {"name": "positive", "link": 6},
                        {"name": "negative", "link": 7}, {"name": "latent_image", "link": 8}]},
        ],
        "links": [[1, 4, 0, 10, 0, "MODEL"], [2, 4, 1, 10, 1, "CLIP"], [3, 10, 1, 6, 0, "CLIP"],
                  [4, 10, 1, 7, 0, "CLIP"], [5, 10, 0, 3, 0, "MODEL"], [6, 6, 0, 3, 1, "CONDITIONING"],
                  [7, 7, 0, 3, 2, "CONDITIONING"], [8, 5, 0, 3, 3, "LATENT"]],
    }
