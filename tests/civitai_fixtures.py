"""A library of real LoRA files, hashed, with Civitai's stand-in knowing some of them."""

from __future__ import annotations

import pytest

from .civitai_standin import CivitaiStandin, make_file, make_image, make_model, make_version
from .loras import file_sha256, write_lora

META = {"prompt": "a cat, <lora:alice:0.8>", "negativePrompt": "blurry", "sampler": "DPM++ 2M", "steps": 30,
        "cfgScale": 7, "seed": 1234, "Size": "832x1216",
        "civitaiResources": [{"type": "lora", "weight": 0.8, "modelVersionId": 11},
                             {"type": "checkpoint", "modelVersionId": 99}]}
HOSTILE = "<p>About <b>alice</b><script>alert(1)</script><img src=x onerror=alert(2)> " \
          "<a href=\"javascript:alert(3)\">x</a> <a href=\"https://example.org/a\">site</a></p>"


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    from lora_manager.civitai import client

    monkeypatch.setattr(client, "BACKOFF_S", 0.01)


@pytest.fixture
def civ():
    with CivitaiStandin() as standin:
        yield standin


def publish_alice(civ, path, *, images=None, base="Pony") -> str:
    sha = file_sha256(path)
    images = images if images is not None else [
        make_image(civ.image("alice-r.jpeg", b"\xff\xd8\xff\xe0jpeg", "image/jpeg"), level=4, image_id=1),
        make_image(civ.image("alice.png"), level=1, meta=META, image_id=2)]
    version = make_version(11, 7, [make_file("alice_v1.safetensors", sha)], name="v1.0", base=base,
                           words=["alice", "blue dress"], images=images, model_name="Alice")
    civ.add(make_model(7, [version], name="Alice", creator="painter", tags=["character", "anime"], description=HOSTILE),
            version)
    return sha


def publish_bob_autov2_only(civ, path) -> str:
    """Civitai knows bob's file by AutoV2 only (an old upload without a SHA256 on record)."""
    sha = file_sha256(path)
    version = make_version(21, 8, [make_file("bob.safetensors", sha, with_sha=False)], base="SD 1.5",
                           model_name="Bob", images=[])
    civ.add(make_model(8, [version], name="Bob", creator="sculptor"), version)
    return sha


@pytest.fixture
def civ_app(make_app, library, civ):
    """alice (found by SHA-256), bob (found by AutoV2), carol (not on Civitai); hashed."""
    paths = {n: write_lora(library / f"{n}.safetensors", seed=i, family=fam)
             for i, (n, fam) in enumerate((("alice", "xl"), ("bob", "sd1"), ("carol", "sd1")))}
    publish_alice(civ, paths["alice"])
    publish_bob_autov2_only(civ, paths["bob"])

    def make(**kw):
        kw = {"civitai_url": civ.url, "civitai_rate": 1000.0, "civitai_timeout": 5.0, "embed_model": "off", **kw}
        app = make_app(library, **kw)
        app.scan(wait_hashes=True)
        return app

    make.paths = paths
    return make
