"""The synthetic generator is deterministic, validates its options, and writes the --demo library."""

from __future__ import annotations

import hashlib
import os

import orjson
import pytest
from safetensors import safe_open

from lora_manager.demo import library as syn
from lora_manager.demo.images import PREVIEW_KINDS
from lora_manager.demo.sidecars import SIDECAR_SUFFIX

from .synthetic_helpers import check_layout, walk

# --------------------------------------------------------------------------- determinism and the demo


def _snapshot(root: str) -> dict[str, bytes]:
    out = {}
    for rel, path in walk(root).items():
        raw = open(path, "rb").read()
        out[rel] = raw.replace(os.path.abspath(root).replace(os.sep, "/").encode(), b"<ROOT>")
    return out


def test_deterministic_for_a_seed_and_across_partitions(tmp_path):
    kw = {"seed": 4, "data_bytes": 20_000, "broken_ratio": 0.1}
    syn.generate_library(str(tmp_path / "a"), 30, **kw)
    syn.generate_library(str(tmp_path / "b"), 30, indices=range(13), **kw)
    syn.generate_library(str(tmp_path / "b"), 30, indices=range(13, 30), **kw)
    syn.generate_library(str(tmp_path / "c"), 30, **{**kw, "seed": 5})
    a, b, c = (_snapshot(str(tmp_path / x)) for x in "abc")
    assert a == b
    shas = lambda snap: {hashlib.sha256(v).hexdigest() for k, v in snap.items() if k.endswith(".safetensors")}  # noqa: E731
    assert not (shas(a) & shas(c) - {hashlib.sha256(b"").hexdigest()})
    mtimes = {os.stat(os.path.join(tmp_path, "a", k)).st_mtime for k in a if k.endswith(".safetensors")}
    assert len(mtimes) > 20 and min(mtimes) > 1.6e9


def test_families_filter_and_validation(tmp_path):
    stats = syn.generate_library(str(tmp_path), 12, families=["f1"], data_bytes=20_000, broken_ratio=0)
    assert stats["families"] == {"f1": 12} and stats["broken"] == 0
    with pytest.raises(ValueError):
        syn.generate_library(str(tmp_path), 1, families=["sd3"])


def test_demo_library(tmp_path):
    stats = syn.demo_library(str(tmp_path))
    files = walk(str(tmp_path))
    loras = [r for r in files if r.endswith(".safetensors") and r not in stats["broken_paths"]]
    assert 35 <= stats["files"] == len(loras) <= 45 and stats["broken"] == 2
    assert set(stats["families"]) == set(syn.FAMILIES)
    assert set(stats["networks"]) == set(syn.NETWORKS)
    assert set(stats["sidecars"]) == set(SIDECAR_SUFFIX)
    assert set(stats["previews"]) == set(PREVIEW_KINDS)
    assert {"Pony", "Illustrious", "NoobAI", "SDXL 1.0", "SD 1.5", "Flux.1 D"} <= set(stats["labels"])
    assert any(not r.isascii() for r in loras) and any(r.count(".") > 1 for r in loras)
    assert any(r.count("/") >= 2 for r in loras) and any("/" not in r for r in loras)
    for rel in loras:
        with safe_open(files[rel], framework="numpy") as f:
            assert f.keys()
    assert sum(os.path.getsize(p) for p in files.values()) < 12 * 2**20
    assert _snapshot(str(tmp_path)) == _snapshot_demo_again(tmp_path)


def _snapshot_demo_again(tmp_path) -> dict[str, bytes]:
    other = tmp_path.parent / (tmp_path.name + "_again")
    syn.demo_library(str(other))
    snap = _snapshot(str(other))
    return snap


def test_big_files_carry_a_true_legacy_hash(tmp_path):
    stats = syn.generate_library(str(tmp_path), 6, seed=2, data_bytes=1_600_000, sidecar_ratio=1.0, broken_ratio=0)
    assert stats["lora_bytes"] / stats["files"] > 1_100_000
    legacy = 0
    for rel, path in walk(str(tmp_path)).items():
        if not rel.endswith(".safetensors"):
            continue
        metadata, _, raw = check_layout(path)
        expected = hashlib.sha256(raw[0x100000:0x110000]).hexdigest()
        if metadata and "sshs_legacy_hash" in metadata:
            legacy += 1
            assert metadata["sshs_legacy_hash"] == expected[:8]
        info = path[: -len(".safetensors")] + ".civitai.info"
        if os.path.exists(info) and len(raw) >= 0x110000:
            doc = orjson.loads(open(info, "rb").read())
            if doc.get("files"):
                assert doc["files"][0]["hashes"]["AutoV1"] == expected[:8].upper()
    assert legacy


def test_public_helpers_have_usable_defaults():
    import random

    meta = syn.kohya_metadata(random.Random(0), "xl", "my_lora")
    assert meta["ss_output_name"] == "my_lora" and meta["ss_base_model_version"] == "sdxl_base_v1-0"
    assert len(meta) >= 50 and all(isinstance(v, str) for v in meta.values())
    spec = syn.kohya_metadata(random.Random(1), "f1", "x", modelspec=True, ssmd=True)
    assert spec["modelspec.architecture"] == "flux-1-dev/lora" and "ssmd_display_name" in spec
    concept = syn.make_concept(random.Random(3))
    assert concept.name and concept.triggers and concept.slug
