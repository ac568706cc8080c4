"""Sidecar files of synthetic LoRAs in every dialect (A1111 and SDNext `<base>.json`, Civitai Helper
`.civitai.info`, civitai-browser-plus `.api_info.json`, ComfyUI-Lora-Manager `.metadata.json`,
Stability Matrix `.cm-info.json`, `.txt`, `.description.txt`), and broken files.
"""

from __future__ import annotations

import random
import struct

import orjson

from .words import _HOSTILE

# --------------------------------------------------------------------------- sidecars

SIDECAR_SUFFIX = {
    "a1111": ".json", "sdnext": ".json", "civitai_info": ".civitai.info",
    "api_info": ".api_info.json", "comfy_lm": ".metadata.json", "cm_info": ".cm-info.json",
    "txt": ".txt", "description_txt": ".description.txt",
}
A1111_SD_VERSION = {"sd1": "SD1", "sd2": "SD2", "xl": "SDXL", "f1": "Other"}


def _dumps(obj, indent: bool = True) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 if indent else 0)


def civitai_hashes(info: dict) -> dict:
    hashes = {"AutoV2": info["sha256"][:10].upper(), "SHA256": info["sha256"].upper(),
              "CRC32": f"{info['crc32']:08X}", "AutoV3": info["tensor_sha256"][:12].upper()}
    if info.get("legacy"):
        hashes["AutoV1"] = info["legacy"][:8].upper()
    return hashes


def _images(info: dict, rng: random.Random) -> list[dict]:
    out = []
    for _ in range(rng.randrange(1, 4)):
        iid = rng.randrange(10**6, 5 * 10**7)
        w, h = rng.choice([(832, 1216), (1024, 1024), (512, 768), (768, 1152)])
        out.append({"url": f"https://image.civitai.com/xG1nkqKTMzGDvpLrqFT7WA/{rng.randbytes(16).hex()}/width={w}/{iid}.jpeg",
                    "nsfwLevel": 1, "width": w, "height": h, "hash": rng.randbytes(14).hex()[:28], "type": "image",
                    "meta": {"prompt": f"{', '.join(info['triggers'])}, {', '.join(info['tags'][:4])}, masterpiece",
                             "negativePrompt": "lowres, bad anatomy, worst quality", "sampler": "DPM++ 2M Karras",
                             "cfgScale": rng.choice([5, 6, 7]), "steps": rng.choice([20, 25, 30]),
                             "seed": rng.randrange(2**32), "Size": f"{w}x{h}"}})
    return out


def civitai_version(info: dict, rng: random.Random, *, own: bool = True) -> dict:
    """A Civitai model-version response; `own=False` makes an older sibling with other hashes."""
    vid = info["version_id"] if own else rng.randrange(10**4, 2 * 10**6)
    src = info if own else {**info, "sha256": rng.randbytes(32).hex(), "tensor_sha256": rng.randbytes(32).hex(),
                            "crc32": rng.randrange(2**32), "legacy": None}
    name = info["version"] if own else f"v{rng.randrange(1, 4)}.{rng.randrange(10)}-old"
    return {
        "id": vid, "modelId": info["model_id"], "name": name, "createdAt": info["created"],
        "updatedAt": info["created"], "trainedWords": list(info["triggers"]), "baseModel": info["label"],
        "baseModelType": "Standard", "earlyAccessTimeFrame": 0, "description": f"<p>{info['html_note']}</p>",
        "stats": {"downloadCount": rng.randrange(10**5), "ratingCount": rng.randrange(500), "rating": 5},
        "model": {"name": info["name"], "type": "LORA", "nsfw": False, "poi": False},
        "files": [{"id": rng.randrange(10**5, 10**7), "sizeKB": src["size"] / 1024, "name": info["file_name"],
                   "type": "Model", "metadata": {"format": "SafeTensor", "size": None, "fp": "fp16"},
                   "hashes": civitai_hashes(src), "primary": True,
                   "downloadUrl": f"https://civitai.com/api/download/models/{vid}"}],
        "images": _images(info, rng), "downloadUrl": f"https://civitai.com/api/download/models/{vid}",
    }


def civitai_model(info: dict, rng: random.Random) -> dict:
    """A Civitai model response (SDNext `<base>.json`, browser-plus `.api_info.json`)."""
    versions = [civitai_version(info, rng, own=False) for _ in range(rng.randrange(0, 3))]
    versions.insert(rng.randrange(len(versions) + 1), civitai_version(info, rng))
    return {"id": info["model_id"], "name": info["name"], "description": info["html"], "type": "LORA",
            "poi": False, "nsfw": False, "allowNoCredit": True, "tags": list(info["tags"][:5]),
            "creator": {"username": info["author"], "image": None},
            "stats": {"downloadCount": rng.randrange(10**5), "favoriteCount": rng.randrange(10**4)},
            "modelVersions": versions}


def _a1111(info: dict, rng: random.Random) -> dict:
    doc = {"description": info["description"], "sd version": A1111_SD_VERSION[info["family"]],
           "activation text": ", ".join(info["triggers"]), "preferred weight": info["weight"],
           "negative text": rng.choice(["", "", "bad hands, extra fingers"]), "notes": ""}
    if rng.random() < 0.5:  # civitai-browser-plus / Civitai Helper extras
        doc.update({"modelId": info["model_id"], "modelVersionId": info["version_id"],
                    "sha256": info["sha256"].upper(), "vae": "None"})
    return doc


def _comfy_lm(info: dict, rng: random.Random) -> dict:
    tips = {"strength": info["weight"] or 1.0, "strength_min": 0.4, "strength_max": 1.2, "clip_skip": info["clip_skip"]}
    return {"file_name": info["base"], "model_name": info["name"], "file_path": info["abs_path"],
            "size": info["size"], "modified": info["mtime"], "sha256": info["sha256"],
            "base_model": info["label"], "preview_url": info["preview_abs"] or "",
            "preview_nsfw_level": 0, "notes": "", "from_civitai": True,
            "civitai": {"id": info["version_id"], "modelId": info["model_id"], "name": info["version"],
                        "trainedWords": list(info["triggers"]), "baseModel": info["label"]},
            "tags": list(info["tags"][:4]), "modelDescription": info["html"], "civitai_deleted": False,
            "favorite": rng.random() < 0.2, "exclude": False, "db_checked": False,
            "last_checked_at": info["mtime"], "usage_tips": orjson.dumps(tips).decode(),
            "metadata_source": "civitai_api", "x_unknown_field": {"kept": True}}


def _cm_info(info: dict, rng: random.Random) -> dict:
    return {"ModelId": info["model_id"], "VersionId": info["version_id"], "ModelName": info["name"],
            "VersionName": info["version"], "ModelDescription": info["html"], "BaseModel": info["label"],
            "FileMetadata": {"Format": "SafeTensor", "Size": "Pruned", "Fp": "Fp16"}, "ModelType": "LORA",
            "ImportedAt": info["created"], "Hashes": {"SHA256": info["sha256"].upper(), "BLAKE3": None},
            "TrainedWords": list(info["triggers"]), "Nsfw": False, "Tags": list(info["tags"][:4]),
            "InferenceDefaults": {"MinStrength": 0.4, "MaxStrength": 1.2, "DefaultStrength": info["weight"] or 1.0}
            if rng.random() < 0.7 else None}


def sidecar_bytes(kind: str, info: dict, rng: random.Random) -> bytes:
    if kind == "a1111":
        return _dumps(_a1111(info, rng))
    if kind in ("sdnext", "api_info"):
        return _dumps(civitai_model(info, rng), indent=kind == "sdnext")
    if kind == "civitai_info":
        if rng.random() < 0.1:  # Civitai Helper's skeleton for a model it could not find
            return _dumps({"id": "", "modelId": "", "name": "", "trainedWords": [], "baseModel": "",
                           "description": "", "model": {"name": "", "type": "", "nsfw": False},
                           "files": [], "images": []})
        return _dumps(civitai_version(info, rng))
    if kind == "comfy_lm":
        return _dumps(_comfy_lm(info, rng))
    if kind == "cm_info":
        return _dumps(_cm_info(info, rng))
    if kind == "txt":
        return (", ".join(info["triggers"]) + "\n" + info["description"] + "\n").encode()
    if kind == "description_txt":
        return (info["description"] + "\n").encode()
    raise ValueError(f"unknown sidecar kind {kind!r}")


def html_description(info: dict, rng: random.Random, hostile: bool = False) -> str:
    html = f"<p>{info['description']}</p><p>Trigger: <strong>{info['triggers'][0]}</strong></p>"
    return html + (f"<p>{rng.choice(_HOSTILE)}</p>" if hostile else "")


# --------------------------------------------------------------------------- broken files

BROKEN_KINDS = ("truncated_header", "header_too_long", "absurd_header", "bad_json", "zero_bytes",
                "random_bytes", "pt_zip", "ckpt", "bad_sidecar", "truncated_data", "not_object")
BROKEN_EXT = {"pt_zip": ".pt", "ckpt": ".ckpt", "bad_sidecar": ".json"}


def broken_bytes(kind: str, valid: bytes, rng: random.Random) -> bytes:
    """Bytes of a file that is broken the way `kind` says; `valid` is a good safetensors file."""
    (n,) = struct.unpack("<Q", valid[:8])
    if kind == "truncated_header":
        return valid[: 8 + n // 2]
    if kind == "truncated_data":
        return valid[: 8 + n + (len(valid) - 8 - n) // 2]
    if kind == "header_too_long":
        return struct.pack("<Q", len(valid) + 4096) + valid[8:]
    if kind == "absurd_header":
        return struct.pack("<Q", 2**60) + valid[8:4096]
    if kind == "bad_json":
        return valid[: 8 + n // 2] + b"\x00\x00}{ not json" + b" " * (n - n // 2 - 14) + valid[8 + n:]
    if kind == "not_object":
        body = b'["not", "a", "header"]'.ljust(24)
        return struct.pack("<Q", len(body)) + body + valid[8 + n: 8 + n + 64]
    if kind == "zero_bytes":
        return b""
    if kind == "random_bytes":
        raw = bytearray(rng.randbytes(rng.randrange(512, 8192)))
        raw[0], raw[7] = 0xA7, raw[7] | 0x40  # not "{", and N >= 2**62: absurd
        return bytes(raw)
    if kind == "pt_zip":  # a zip local header that goes nowhere: never a loadable pickle
        return b"PK\x03\x04\x00\x00\x08\x00" + rng.randbytes(22) + b"archive/data.pkl" + rng.randbytes(256)
    if kind == "ckpt":  # an empty zip archive (end-of-central-directory record only)
        return b"PK\x05\x06" + b"\x00" * 18
    if kind == "bad_sidecar":
        return b'{"description": "cut off in the mid'
    raise ValueError(f"unknown broken kind {kind!r}")
