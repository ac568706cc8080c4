"""Sidecar samples in each dialect, shaped as the tools that write them write them, and helpers to lay them out."""

from __future__ import annotations

import hashlib
import json
import os

from lora_manager.library.records import SidecarFacts
from lora_manager.library.sidecars import (
    read_sidecars,
)

BASE = "pixelArt_v2"
SHA_V1 = hashlib.sha256(b"version one").hexdigest()
SHA_V2 = hashlib.sha256(b"version two").hexdigest()
SHA_PICKLE = hashlib.sha256(b"pickle file").hexdigest()
EMPTY_SHA = hashlib.sha256(b"").hexdigest()

# ----------------------------------------------------------------------------- samples

A1111 = {
    "description": "Pixel art style.\r\nWorks best at 0.8 with a plain background.",
    "sd version": "SDXL",
    "activation text": "pixel art, pixelated,  8bit , Pixel Art,,",
    "preferred weight": 0.8,
    "negative text": "blurry, smooth",
    "notes": "downloaded 2024-03-01",
    "modelId": 120096,
    "modelVersionId": "135867",
    "sha256": SHA_V2.upper(),
    "vae": "None",
    "extensions": {"civitai": True},
}


def _version(vid, name, sha, base, words, *, primary=True):
    return {
        "id": vid,
        "modelId": 120096,
        "name": name,
        "baseModel": base,
        "trainedWords": words,
        "description": f"<p>Changes in {name}</p>",
        "files": [
            {"name": f"pixelArt_{name}.safetensors", "primary": primary, "type": "Model",
             "hashes": {"AutoV1": "ABCDEF12", "AutoV2": sha[:10].upper(), "SHA256": sha.upper(),
                        "CRC32": "DEADBEEF", "BLAKE3": "AB" * 32, "AutoV3": "0123456789AB"}},
        ],
        "images": [{"url": f"https://image.civitai.com/x/{vid}/1.jpeg", "nsfwLevel": 1, "type": "image"},
                   {"url": f"https://image.civitai.com/x/{vid}/2.mp4", "type": "video"}],
    }


CIVITAI_MODEL = {  # SDNext <base>.json: the Civitai /models/{id} response
    "id": 120096,
    "name": "Pixel Art XL",
    "description": "<h2>Pixel&nbsp;Art</h2><p>Use <b>pixel art</b> &amp; friends.</p>"
                   "<script>alert('x')</script><ul><li>one</li><li>two</li></ul>",
    "type": "LORA",
    "nsfw": False,
    "tags": ["style", "pixel art", "Style"],
    "creator": {"username": "nerijs", "image": None},
    "modelVersions": [
        _version(200001, "v1.0", SHA_V1, "SDXL 1.0", ["pixel", "8bit"]),
        _version(135867, "v2.0", SHA_V2, "Pony", ["pixel art", "retro"]),
    ],
}

CIVITAI_INFO = {  # Civitai Helper <base>.civitai.info: the /model-versions/{id} response
    "id": 135867,
    "modelId": 120096,
    "name": "v2.0",
    "baseModel": "Pony",
    "trainedWords": ["pixel art, retro", "PIXEL ART"],
    "description": "<p>Second release</p>",
    "model": {"name": "Pixel Art XL", "type": "LORA", "nsfw": False, "poi": False},
    "creator": {"username": "nerijs"},
    "files": [
        {"name": "pixelArt.pt", "primary": False, "hashes": {"SHA256": SHA_PICKLE.upper()}},
        {"name": "pixelArt.safetensors", "primary": True,
         "hashes": {"SHA256": SHA_V2.upper(), "AutoV3": "A1B2C3D4E5F6", "AutoV2": SHA_V2[:10]}},
    ],
    "images": [{"url": "https://image.civitai.com/x/a.jpeg"}, {"url": "https://image.civitai.com/x/a.jpeg"}],
    "extensions": {"sd_civitai_helper": {"version": "1.8"}},
}

LM_METADATA = {  # ComfyUI-Lora-Manager <base>.metadata.json
    "file_name": BASE,
    "model_name": "Pixel Art XL",
    "file_path": f"D:/loras/{BASE}.safetensors",
    "size": 170543052,
    "modified": 1709251200.0,
    "sha256": SHA_V2,
    "base_model": "Pony",
    "preview_url": f"D:/loras/{BASE}.preview.png",
    "preview_nsfw_level": 1,
    "notes": "my favourite",
    "from_civitai": True,
    "civitai": {
        "id": 135867, "modelId": 120096, "name": "v2.0", "trainedWords": ["pixel art", "retro"],
        "model": {"name": "Pixel Art XL", "nsfw": False, "tags": ["style"]},
        "creator": {"username": "nerijs"},
        "images": [{"url": "https://image.civitai.com/x/lm.jpeg"}],
    },
    "tags": ["style", "pixel art"],
    "modelDescription": "<p>Pixel art &lt;3</p>",
    "favorite": True,
    "usage_tips": json.dumps({"strength": 0.7, "strength_min": 0.4, "strength_max": 1.2, "clip_skip": 2}),
    "some_future_field": {"kept": "by them, ignored by us"},
}

CM_INFO = {  # Stability Matrix <base>.cm-info.json
    "ModelId": 120096,
    "ModelName": "Pixel Art XL",
    "ModelDescription": "<p>Pixel <i>art</i></p>",
    "Nsfw": False,
    "Tags": ["style", "pixel art"],
    "ModelType": "LORA",
    "VersionId": 135867,
    "VersionName": "v2.0",
    "VersionDescription": None,
    "BaseModel": "Pony",
    "FileMetadata": {"Fp": "fp16", "Size": "pruned", "Format": "SafeTensor"},
    "ImportedAt": "2024-03-01T10:00:00+00:00",
    "Hashes": {"SHA256": SHA_V2.upper(), "CRC32": "DEADBEEF", "BLAKE3": "ab" * 32},
    "TrainedWords": ["pixel art", "retro"],
    "Stats": {"DownloadCount": 10},
    "UserTitle": None,
    "ThumbnailImageUrl": "https://image.civitai.com/x/cm.jpeg",
    "InferenceDefaults": {"Sampler": "Euler a"},
}


def _write(folder, name, content) -> str:
    path = os.path.join(folder, name)
    data = content if isinstance(content, bytes) else (
        content.encode() if isinstance(content, str) else json.dumps(content, indent=2).encode())
    with open(path, "wb") as fh:
        fh.write(data)
    return path


def _snapshot(folder):
    out = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and not os.path.islink(path) and os.access(path, os.R_OK):
            st = os.stat(path)
            with open(path, "rb") as fh:
                out[name] = (fh.read(), st.st_mtime_ns, st.st_size)
        else:
            out[name] = None
    return out


def _one(folder, name, content, **kw) -> SidecarFacts:
    _write(folder, name, content)
    facts = read_sidecars(str(folder), BASE, [name], **kw)
    assert len(facts) == 1
    return facts[0]
