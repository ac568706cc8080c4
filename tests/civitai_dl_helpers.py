"""Shared pieces of the download and update tests: real LoRA files published on the stand-in."""

from __future__ import annotations

import hashlib
import os
import time

from .civitai_standin import make_file, make_image, make_model, make_version
from .loras import write_lora

KEY = "sk-download-secret-42"


def lora_bytes(tmp_path, seed: int, family: str = "xl") -> bytes:
    """A real safetensors LoRA as bytes (written, read back, removed)."""
    path = write_lora(tmp_path / f"blob-{seed}.safetensors", family=family, seed=seed, rank=64)  # ~570 kB
    with open(path, "rb") as f:
        data = f.read()
    os.unlink(path)
    return data


def publish(civ, tmp_path, *, model_id: int = 7, versions=((11, "v2.0", "2025-03-01T12:00:00.000Z"),),
            name: str = "A LoRA", file_name: str = "alice.safetensors", base: str = "SDXL 1.0", kind: str = "LORA",
            seed: int = 0, with_sha: bool = True) -> dict[int, bytes]:
    """Model `model_id` with `versions` ((id, name, publishedAt), newest first), each with its own file
    (served for download) and an image; returns {version id: bytes}."""
    blobs, made = {}, []
    for i, (vid, vname, published) in enumerate(versions):
        data = lora_bytes(tmp_path, seed + i)
        blobs[vid] = data
        sha = hashlib.sha256(data).hexdigest()
        f = make_file(file_name if i == 0 else f"v{vid}-{file_name}", sha, file_id=vid, with_sha=with_sha)
        f["downloadUrl"] = f"https://civitai.com/api/download/models/{vid}"
        image = make_image(civ.image(f"{vid}.png"), image_id=vid)
        v = make_version(vid, model_id, [f], name=vname, base=base, words=["alice"], images=[image], model_name=name)
        v["publishedAt"] = published
        v["model"]["type"] = kind
        made.append(v)
        civ.serve(vid, data)
    civ.add(make_model(model_id, made, name=name), *made)
    return blobs


def wait_state(downloads, job_id: str, states=("done", "failed", "cancelled", "paused"), timeout: float = 30.0) -> dict:
    """Wait (not a timing assert: a bound against a hang) until the job reaches one of `states`."""
    deadline = time.monotonic() + timeout
    while True:
        job = downloads.get(job_id)
        if job["state"] in states:
            return job
        assert time.monotonic() < deadline, f"download still {job['state']}: {job}"
        time.sleep(0.02)


def files_under(folder) -> list[str]:
    out = []
    for dirpath, _dirs, names in os.walk(folder):
        out += [os.path.relpath(os.path.join(dirpath, n), folder) for n in names]
    return sorted(out)
