"""The synthetic library generator writes what real tools write, and breaks what it says it breaks."""

from __future__ import annotations

import hashlib
import os
import struct
import zlib

import orjson
import pytest
from safetensors import safe_open

from lora_manager.demo import library as syn
from lora_manager.demo.images import jpeg_bytes, png_bytes
from lora_manager.demo.sidecars import BROKEN_KINDS

from .synthetic_helpers import check_layout, read_header, walk

# --------------------------------------------------------------------------- write_safetensors


def test_write_safetensors_reads_back_with_the_real_library(tmp_path):
    tensors = {"b.lora_down.weight": ("F16", [4, 768]), "a.lora_up.weight": ("F32", [320, 4]), "a.alpha": ("F16", [])}
    meta = {"ss_network_dim": "4", "note": '{"json": "inside"}'}
    path = str(tmp_path / "x.safetensors")
    syn.write_safetensors(path, tensors, meta, seed=3)
    check_layout(path)
    with safe_open(path, framework="numpy") as f:
        assert set(f.keys()) == set(tensors)
        assert f.metadata() == meta
        for name, (_, shape) in tensors.items():
            assert list(f.get_tensor(name).shape) == shape
            assert list(f.get_slice(name).get_shape()) == shape
        import numpy as np

        assert np.isfinite(f.get_tensor("b.lora_down.weight")).all()


def test_seed_changes_bytes_fill_is_verbatim(tmp_path):
    tensors = {"w": ("F16", [64, 64])}
    paths = [str(tmp_path / f"{i}.safetensors") for i in range(3)]
    syn.write_safetensors(paths[0], tensors, None, seed=1)
    syn.write_safetensors(paths[1], tensors, None, seed=2)
    syn.write_safetensors(paths[2], tensors, None, fill=b"\x00\x3c")  # F16 1.0
    digests = {hashlib.sha256(open(p, "rb").read()).hexdigest() for p in paths}
    assert len(digests) == 3
    _, data, _ = check_layout(paths[2])
    assert data == b"\x00\x3c" * 4096
    with pytest.raises(TypeError):
        syn.write_safetensors(paths[0], tensors, {"ss_epoch": 3})


# --------------------------------------------------------------------------- tensor names and shapes


def _down(tensors, needle):
    return [shape for name, (_, shape) in tensors.items() if needle in name and name.endswith("lora_down.weight")]


@pytest.mark.parametrize("family, te, ctx", [("sd1", 768, 768), ("sd2", 1024, 1024), ("xl", None, 2048)])
def test_kohya_shapes_match_the_family(family, te, ctx):
    t = syn.kohya_tensors(family, 4, modules_count=3000)
    assert 250 <= len(syn.kohya_tensors(family, 4)) <= 330
    assert all(n.startswith(("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_")) for n in t)
    assert {s[1] for s in _down(t, "attn2_to_k")} == {ctx}
    assert all(s[0] == 4 for s in _down(t, ""))
    if family == "xl":
        assert {s[1] for s in _down(t, "lora_te1_text_model_encoder_layers_0_self_attn_q_proj")} == {768}
        assert {s[1] for s in _down(t, "lora_te2_text_model_encoder_layers_0_self_attn_q_proj")} == {1280}
        assert any(n.startswith("lora_unet_input_blocks_4_1_") for n in t)  # SGM names, as sd-scripts writes
    else:
        assert {s[1] for s in _down(t, "lora_te_text_model_encoder_layers_0_self_attn_q_proj")} == {te}
        assert any(n.startswith("lora_unet_down_blocks_0_attentions_0_") for n in t)
    for name, (_, shape) in t.items():
        if name.endswith(".alpha"):
            assert shape == []
        if name.endswith("lora_up.weight"):
            assert shape[1] == 4


def test_flux_lycoris_dora_and_peft_names():
    f1 = syn.kohya_tensors("f1", 2, unet_only=True, modules_count=1000)
    assert all(n.startswith(("lora_unet_double_blocks_", "lora_unet_single_blocks_")) for n in f1)
    assert {tuple(s) for s in _down(f1, "img_attn_qkv")} == {(2, 3072)}
    assert {tuple(s) for s in _down(f1, "linear2")} == {(2, 15360)}
    loha = syn.kohya_tensors("sd1", 8, network="loha")
    assert any(n.endswith(".hada_w1_a") for n in loha) and any(n.endswith(".hada_w2_b") for n in loha)
    lokr = syn.kohya_tensors("xl", 4, network="lokr", modules_count=400)
    for name, (_, shape) in lokr.items():
        if name.endswith(".lokr_w1"):
            base = name[: -len(".lokr_w1")]
            w2 = lokr.get(base + ".lokr_w2")
            rows = shape[0] * (w2[1][0] if w2 else lokr[base + ".lokr_w2_a"][1][0])
            cols = shape[1] * (w2[1][1] if w2 else lokr[base + ".lokr_w2_b"][1][1])
            if base.endswith("attn2_to_k"):
                assert cols == 2048
            assert rows in (640, 1280, 768, 3072, 5120, 10240, 2560)
            assert cols in (640, 1280, 768, 2048, 3072, 5120, 2560)
    dora = syn.kohya_tensors("sd1", 4, network="dora")
    assert sum(n.endswith(".dora_scale") for n in dora) == sum(n.endswith(".lora_down.weight") for n in dora)
    peft = syn.peft_tensors("xl", 4)
    assert all(
        n.startswith(("unet.", "text_encoder.", "text_encoder_2.")) and n.endswith(("lora_A.weight", "lora_B.weight"))
        for n in peft
    )
    assert all(n.startswith("transformer.") for n in syn.peft_tensors("f1", 4))
    conv = syn.kohya_tensors("sd1", 4, conv=True, modules_count=3000)
    assert [4, 320, 3, 3] in [s for n, (_, s) in conv.items() if "resnets" in n]


def test_fit_modules_respects_the_budget():
    import random

    for family in syn.FAMILIES:
        for budget in (60_000, 250_000, 5_000_000):
            rank, mods = syn.fit_modules(family, "lora", budget, random.Random(1))
            t = syn.build_tensors(family, "kohya", mods, rank, "lora")
            _, total = syn.layout(t)
            assert total <= budget or rank == 1
            assert any(m[1] in syn._SIGNATURE.get(family, syn._SIGNATURE["sd1"]) for m in mods)
        assert syn.fit_modules(family, "lora", 50_000_000, random.Random(1))[0] >= 16


# --------------------------------------------------------------------------- a generated library


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("synth"))
    stats = syn.generate_library(root, 130, seed=11, broken_ratio=0.1, data_bytes=40_000, duplicate_ratio=0.1)
    return root, stats


def _loras(root, stats):
    return {
        rel: p for rel, p in walk(root).items() if rel.endswith(".safetensors") and rel not in stats["broken_paths"]
    }


def test_counts_and_every_lora_opens(library):
    root, stats = library
    loras = _loras(root, stats)
    assert stats["files"] == len(loras) == 130
    assert stats["broken"] == len(stats["broken_paths"]) == 13
    assert set(stats["broken_kinds"]) == set(BROKEN_KINDS)
    assert stats["bytes"] == sum(os.path.getsize(p) for p in walk(root).values())
    assert set(stats["families"]) == set(syn.FAMILIES)
    assert sum(stats["sidecars"].values()) > 40 and sum(stats["previews"].values()) > 30
    for rel, path in loras.items():
        metadata, data, _ = check_layout(path)
        with safe_open(path, framework="numpy") as f:
            assert f.metadata() == (metadata or None) or f.metadata() == metadata
            assert len(f.keys()) > 0


def test_metadata_is_kohya_like_and_hashes_are_true(library):
    root, stats = library
    with_hash = header_sizes = 0
    kohya = []
    for path in _loras(root, stats).values():
        metadata, data, raw = check_layout(path)
        if not metadata or "ss_network_module" not in metadata:
            continue
        kohya.append(len(raw) - len(data))
        assert all(isinstance(v, str) for v in metadata.values())
        assert len([k for k in metadata if k.startswith("ss_")]) >= 60
        freq = orjson.loads(metadata["ss_tag_frequency"])
        assert all(isinstance(c, int) for d in freq.values() for c in d.values())
        assert 8_000 < len(metadata["ss_tag_frequency"]) < 40_000
        assert float(metadata["ss_training_finished_at"]) > float(metadata["ss_training_started_at"]) > 1.6e9
        assert metadata["ss_resolution"].startswith("(")
        if "sshs_model_hash" in metadata:
            with_hash += 1
            assert metadata["sshs_model_hash"] == hashlib.sha256(data).hexdigest()
        header_sizes += 1
    assert with_hash > 10
    assert 30_000 < sum(kohya) / len(kohya) < 100_000


def _in_width(header: dict, base: str) -> int:
    """The input width of one module, whatever the network stores (LoRA, PEFT, LoHa, LoKr)."""
    for suffix in (".lora_down.weight", ".lora_A.weight", ".hada_w1_b"):
        if base + suffix in header:
            return header[base + suffix]["shape"][1]
    w2 = header.get(base + ".lokr_w2") or header[base + ".lokr_w2_b"]
    return header[base + ".lokr_w1"]["shape"][1] * w2["shape"][1]


def test_base_model_version_matches_shapes(library):
    root, stats = library
    width = {"sd_v1": 768, "sd_v2": 1024, "sd_v2_v": 1024, "sdxl_base_v1-0": 2048}
    checked = 0
    for path in _loras(root, stats).values():
        n, header, _ = read_header(path)
        meta = header.pop("__metadata__", {}) or {}
        version = meta.get("ss_base_model_version")
        bases = {name.rsplit(".", 2 if name.endswith(".weight") else 1)[0] for name in header}
        keys = [b for b in bases if b.endswith(("attn2_to_k", "attn2.to_k"))]
        if version in width:
            checked += 1
            assert keys and all(_in_width(header, k) == width[version] for k in keys), path
        if version == "flux1":
            assert any("double_blocks" in k or "transformer_blocks" in k for k in header)
    assert checked > 50


def test_sidecars_carry_the_real_file_hash(library):
    root, stats = library
    files = walk(root)
    seen = set()
    for rel, path in _loras(root, stats).items():
        base = path[: -len(".safetensors")]
        sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
        js = base + ".json"
        if os.path.exists(js) and stats["broken_paths"].get(rel[: -len(".safetensors")] + ".json") is None:
            doc = orjson.loads(open(js, "rb").read())
            if "modelVersions" in doc:  # SDNext: one version's file must match
                seen.add("sdnext")
                hashes = [f["hashes"]["SHA256"] for v in doc["modelVersions"] for f in v["files"]]
                assert sha.upper() in hashes
            else:
                seen.add("a1111")
                assert {"description", "sd version", "activation text", "preferred weight"} <= set(doc)
                assert doc.get("sha256", sha.upper()) == sha.upper()
        if os.path.exists(base + ".civitai.info"):
            doc = orjson.loads(open(base + ".civitai.info", "rb").read())
            if doc.get("files"):
                seen.add("civitai_info")
                assert doc["files"][0]["hashes"]["SHA256"] == sha.upper()
                assert doc["files"][0]["hashes"]["AutoV2"] == sha[:10].upper()
        if os.path.exists(base + ".metadata.json"):
            seen.add("comfy_lm")
            doc = orjson.loads(open(base + ".metadata.json", "rb").read())
            assert doc["sha256"] == sha
            assert isinstance(orjson.loads(doc["usage_tips"]), dict)
            assert doc["file_path"].endswith(os.path.basename(path))
        if os.path.exists(base + ".cm-info.json"):
            seen.add("cm_info")
            assert orjson.loads(open(base + ".cm-info.json", "rb").read())["Hashes"]["SHA256"] == sha.upper()
        if os.path.exists(base + ".api_info.json"):
            seen.add("api_info")
            assert "modelVersions" in orjson.loads(open(base + ".api_info.json", "rb").read())
    assert seen == {"sdnext", "a1111", "civitai_info", "comfy_lm", "cm_info", "api_info"}
    assert any(rel.endswith(".description.txt") for rel in files) and any(rel.endswith(".txt") for rel in files)


def test_previews_are_real_images(library):
    root, _ = library
    previews = [p for rel, p in walk(root).items() if rel.endswith((".png", ".jpg"))]
    assert previews
    for path in previews:
        raw = open(path, "rb").read()
        if path.endswith(".png"):
            _check_png(raw)
        else:
            assert raw[:2] == b"\xff\xd8" and raw[-2:] == b"\xff\xd9" and b"\xff\xc0" in raw


def _check_png(raw: bytes) -> None:
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, dims = 8, b"", None
    while pos < len(raw):
        (length,) = struct.unpack(">I", raw[pos:pos + 4])
        kind, body = raw[pos + 4:pos + 8], raw[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", raw[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body)
        if kind == b"IHDR":
            dims = struct.unpack(">II", body[:8])
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    w, h = dims
    assert len(zlib.decompress(idat)) == h * (1 + 3 * w)


def test_image_helpers():
    _check_png(png_bytes(5, 3, (1, 2, 3)))
    jpg = jpeg_bytes((250, 10, 10))
    assert jpg.startswith(b"\xff\xd8\xff\xe0") and jpg.endswith(b"\xff\xd9")


def test_broken_files_are_broken_the_intended_way(library):
    root, stats = library
    for rel, kind in stats["broken_paths"].items():
        path = os.path.join(root, *rel.split("/"))
        raw = open(path, "rb").read()
        n = struct.unpack("<Q", raw[:8])[0] if len(raw) >= 8 else None
        if kind == "zero_bytes":
            assert raw == b""
        elif kind in ("truncated_header", "header_too_long"):
            assert 8 + n > len(raw) and n < 100 * 2**20
        elif kind in ("absurd_header", "random_bytes"):
            assert n >= 2**60 and (kind == "absurd_header" or raw[:1] != b"{")
        elif kind == "bad_json":
            assert 8 + n <= len(raw) and raw[8:9] == b"{"
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(raw[8:8 + n])
        elif kind == "not_object":
            assert isinstance(orjson.loads(raw[8:8 + n]), list)
        elif kind == "truncated_data":
            header = orjson.loads(raw[8:8 + n])
            header.pop("__metadata__", None)
            assert max(e["data_offsets"][1] for e in header.values()) > len(raw) - 8 - n
        elif kind == "pt_zip":
            assert rel.endswith(".pt") and raw.startswith(b"PK\x03\x04")
        elif kind == "ckpt":
            assert rel.endswith(".ckpt") and raw.startswith(b"PK\x05\x06")
        elif kind == "bad_sidecar":
            assert rel.endswith(".json") and os.path.exists(path[: -len(".json")] + ".safetensors")
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(raw)
            continue
        if rel.endswith(".safetensors"):
            with pytest.raises(Exception):
                with safe_open(path, framework="numpy") as f:
                    f.metadata()


def test_duplicates_share_tensors(library):
    root, stats = library
    assert stats["duplicates"].get("exact") and stats["duplicates"].get("retag")
    full, tensor = {}, {}
    for path in _loras(root, stats).values():
        _, data, raw = check_layout(path)
        full.setdefault(hashlib.sha256(raw).hexdigest(), []).append(path)
        tensor.setdefault(hashlib.sha256(data).hexdigest(), set()).add(hashlib.sha256(raw).hexdigest())
    assert any(len(v) >= 2 for v in full.values())  # an exact copy under another name
    assert any(len(v) >= 2 for v in tensor.values())  # same tensors, edited metadata


def test_alpha_tensors_hold_the_network_alpha(library):
    root, stats = library
    checked = 0
    for path in _loras(root, stats).values():
        metadata, _, _ = check_layout(path)
        if not metadata or "ss_network_alpha" not in metadata:
            continue
        with safe_open(path, framework="numpy") as f:
            alphas = [k for k in f.keys() if k.endswith(".alpha")]  # noqa: SIM118 - safe_open is not iterable
            n, header, _ = read_header(path)
            if alphas and header[alphas[0]]["dtype"] in ("F16", "F32"):
                assert float(f.get_tensor(alphas[0])) == float(metadata["ss_network_alpha"])
                checked += 1
    assert checked > 10
