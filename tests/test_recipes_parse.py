"""Reading generation parameters from images written here in each tool's dialect, and refusing hostile
images with a clear error (no database: the parsers and the image reader alone)."""

from __future__ import annotations

import io
import json
import struct
import zlib

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from lora_manager.errors import InvalidInput
from lora_manager.recipes.handoff import infotext
from lora_manager.recipes.images import BadImage, ImageTooLarge, decode_user_comment, read_texts
from lora_manager.recipes.parse import NoParameters, parse_texts
from lora_manager.recipes.parse.infotext import split

from . import recipe_images as RI


def parsed(data: bytes):
    return parse_texts(read_texts(data).texts)


def test_a1111_png_parameters():
    p = parsed(RI.png({"parameters": RI.a1111_text(tensor_hash="AbCdEf012345")}))
    f = p.fields
    assert p.dialect == "a1111" and (f["prompt"], f["negative_prompt"]) == ("a cat on a roof, sunset", "blurry, lowres")
    assert f["loras"] == [{"name": "cat_style", "weight": 0.7, "tensor_sha256": "abcdef012345"}]
    assert (f["steps"], f["sampler"], f["scheduler"], f["cfg_scale"], f["seed"]) == (28, "DPM++ 2M", "Karras", 6.5,
                                                                                     1234)
    assert (f["width"], f["height"], f["checkpoint"], f["checkpoint_hash"]) == (512, 768, "dreamshaper_8", "abcdef1234")
    assert f["params"] == {"Clip skip": "2", "Version": "v1.10.1"}


def test_sdnext_png_pairs_hashes_with_networks():
    p = parsed(RI.png({"parameters": RI.sdnext_text(hashes=("01234567", "89ABCDEF"))}))
    assert p.dialect == "sdnext"
    assert [(lo["name"], lo["weight"], lo["tensor_sha256"]) for lo in p.fields["loras"]] == [
        ("cat_style", 0.5, "01234567"), ("dog_style", 0.6, "89abcdef")]
    assert p.fields["params"] == {"App": "SD.Next", "Version": "5b8c1e0"}


@pytest.mark.parametrize("fmt,order", [("JPEG", "be"), ("JPEG", "le"), ("WEBP", "be")])
def test_civitai_exif_user_comment(fmt, order):
    p = parsed(RI.with_exif(fmt, RI.user_comment(RI.civitai_text(lora_sha="ABCDEF0123"), order)))
    f = p.fields
    assert p.dialect == "civitai" and f["prompt"] == "a castle" and f["checkpoint"] == "Juggernaut"
    assert f["checkpoint_hash"] == "1122334455"
    cat, far = f["loras"]
    assert cat == {"name": "cat_style", "weight": 0.9, "sha256": "abcdef0123", "civitai_version_id": 7}
    assert far == {"name": "Far Away Style", "weight": 0.6, "civitai_version_id": 4242, "civitai_model_id": 99}


def test_comfyui_prompt_graph_and_workflow_alone():
    p = parsed(RI.png({"prompt": json.dumps(RI.comfy_prompt()), "workflow": json.dumps(RI.comfy_workflow())}))
    f = p.fields
    assert p.dialect == "comfyui" and (f["prompt"], f["negative_prompt"]) == ("a cozy cabin", "watermark")
    assert f["loras"] == [{"name": "cat_style", "weight": 0.8, "te": 0.6}, {"name": "dog_style", "weight": 0.4}]
    assert (f["seed"], f["steps"], f["cfg_scale"], f["sampler"], f["scheduler"]) == (99, 25, 7.5, "euler", "normal")
    assert (f["checkpoint"], f["width"], f["height"]) == ("realistic", 512, 640)
    w = parsed(RI.png({"workflow": json.dumps(RI.comfy_workflow())})).fields  # the UI graph only
    assert w["prompt"] == "a cozy cabin" and w["loras"] == [{"name": "cat_style", "weight": 0.8, "te": 0.6}]
    assert (w["steps"], w["width"]) == (25, 512)


def test_infotext_edges_and_round_trip():
    text = ('line one\nline two <lora:a.b:0.5:unet=0.8> <lora:c:1:in=0,1:out=1>\nNegative prompt: x\ny\n'
            'Steps: 5, Prompt: "has, commas: and \\"quotes\\"", Seed: 3, Size: 64x64')
    prompt, negative, params = split(text)
    assert (prompt, negative) == ("line one\nline two <lora:a.b:0.5:unet=0.8> <lora:c:1:in=0,1:out=1>", "x\ny")
    assert params["Prompt"] == 'has, commas: and "quotes"' and params["Seed"] == "3"
    p = parse_texts({"parameters": text})
    assert p.fields["prompt"] == "line one\nline two"
    assert p.fields["loras"] == [{"name": "a.b", "weight": 0.8, "te": 0.5}, {"name": "c", "weight": 1.0,
                                                                           "blocks": "in=0,1:out=1"}]
    assert split("just a prompt, no settings") == ("just a prompt, no settings", "", {})
    again = parse_texts({"parameters": infotext({**p.fields, "seed": 3})}).fields
    assert again["loras"] == p.fields["loras"] and again["prompt"] == "line one\nline two"
    assert again["params"]["Prompt"] == 'has, commas: and "quotes"'


def test_user_comment_encodings():
    assert decode_user_comment(b"ASCII\x00\x00\x00hello") == "hello"
    assert decode_user_comment(b"UNICODE\x00" + "héllo".encode("utf-16-le")) == "héllo"
    assert decode_user_comment(b"UNICODE\x00" + "héllo".encode("utf-16-be")) == "héllo"
    assert decode_user_comment(b"UNICODE\x00\xff\xfe" + "ok".encode("utf-16-le")) == "ok"


def _bomb(width: int, height: int) -> bytes:
    """A small PNG whose header claims another size (CRC fixed): only the header is ever read."""
    data = bytearray(RI.png({"parameters": "a\nSteps: 1, Seed: 1, Size: 8x8"}))
    at = data.index(b"IHDR")
    data[at + 4:at + 12] = struct.pack(">II", width, height)
    data[at + 17:at + 21] = struct.pack(">I", zlib.crc32(bytes(data[at:at + 17])) & 0xFFFFFFFF)
    return bytes(data)


def _ztxt_bomb() -> bytes:
    info = PngInfo()
    info.add_text("parameters", "a" * (5 << 20), zip=True)  # 5 KB compressed, 5 MB inside
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def _corrupt_exif() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG", exif=b"Exif\x00\x00II\x2a\x00\x08\x00\x00\x00\x01\x00\x69\x87\x04\x00"
                                                     b"\x01\x00\x00\x00\xff\xff\xff\x7f")
    return buf.getvalue()


@pytest.mark.parametrize("data,error,words", [
    (_bomb(100_000, 100_000), BadImage, "absurd"),
    (_bomb(9000, 9000), BadImage, "over 64000000 pixels"),
    (_ztxt_bomb(), BadImage, "text chunk"),
    (RI.png({"parameters": "p" * ((1 << 20) + 1)}), BadImage, "over 1048576"),
    (_corrupt_exif(), BadImage, "EXIF data is damaged"),
    (RI.png({"parameters": "x"})[:60], BadImage, "not an image"),
    (b"", BadImage, "empty"),
    (b"GIF89a" + b"\x00" * 20, BadImage, "not an image"),
    (RI.png({}), NoParameters, "no generation parameters"),
    (RI.png({"prompt": "[1, 2", "workflow": "{}"}), NoParameters, "ComfyUI"),
    (RI.png({"prompt": json.dumps({"1": {"class_type": "KSampler", "inputs": {"positive": ["1", 0]}}})}), None, None),
])
def test_hostile_images_give_clear_errors(data, error, words):
    if error is None:  # a graph that links to itself: read what can be, no loop, no error
        assert parsed(data).notes == [] and parsed(data).fields["prompt"] == ""
        return
    with pytest.raises(error) as info:
        parsed(data)
    assert words in info.value.message and isinstance(info.value, InvalidInput)


def test_size_limit_before_anything_is_read():
    with pytest.raises(ImageTooLarge) as info:
        read_texts(RI.png({"parameters": "x"}), max_bytes=100)
    assert info.value.status == 413
