"""Preview discovery: every naming convention, order, case, and names that must not match."""

from __future__ import annotations

import os
import random

import pytest

from lora_manager.library.previews import IMAGE_EXTS, VIDEO_EXTS, find_previews, preview_mime
from lora_manager.library.records import Preview

BASE = "pixelArt_v2"


def _touch(folder, *names):
    for name in names:
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(b"\x89PNG fake")


@pytest.mark.parametrize("rest, kind, convention", [
    *[(f".preview{ext}", "image", "preview") for ext in IMAGE_EXTS],
    *[(ext, "image", "plain") for ext in IMAGE_EXTS],
    *[(f".thumb{ext}", "image", "thumb") for ext in (".jpg", ".jpeg", ".png", ".webp")],
    (".example.0.png", "image", "example"),
    (".example.12.jpeg", "image", "example"),
    (".preview.3.webp", "image", "example"),
    (".mp4", "video", "plain"),
    (".webm", "video", "plain"),
    (".preview.mp4", "video", "preview"),
    (".preview.webm", "video", "preview"),
    (".example.2.mp4", "video", "example"),
    (".PNG", "image", "plain"),
    (".Preview.JPG", "image", "preview"),
    (".THUMB.Jpg", "image", "thumb"),
    (".preview.MP4", "video", "preview"),
])
def test_each_convention(tmp_path, rest, kind, convention):
    _touch(tmp_path, BASE + rest, BASE + ".safetensors")
    assert find_previews(BASE, os.listdir(tmp_path)) == [Preview(BASE + rest, kind, convention)]


@pytest.mark.parametrize("name", [
    f"{BASE}.safetensors", f"{BASE}.json", f"{BASE}.civitai.info", f"{BASE}.txt",
    f"{BASE}.bmp", f"{BASE}.preview.bmp", f"{BASE}.preview.txt", f"{BASE}.example.png",
    f"{BASE}.example.x.png", f"{BASE}.example.-1.png", f"{BASE}.example.1234567.png",
    f"{BASE}.thumb.mp4", f"{BASE}.thumb.2.jpg", f"{BASE}.3.png", f"{BASE}.preview",
    f"{BASE}png", f"{BASE}_0.jpg", f"{BASE}2.png", f"{BASE}.v3.png", f"{BASE}.preview.png.bak",
    "other.png", "other.preview.png", f"x{BASE}.png", f"{BASE.lower()}.png", f"{BASE}.preview.png/x",
    "", ".png",
])
def test_non_previews_are_ignored(name):
    assert find_previews(BASE, [name]) == []


def test_order_and_numeric_examples(tmp_path):
    expected = [
        Preview(f"{BASE}.preview.png", "image", "preview"),
        Preview(f"{BASE}.preview.jpg", "image", "preview"),
        Preview(f"{BASE}.png", "image", "plain"),
        Preview(f"{BASE}.webp", "image", "plain"),
        Preview(f"{BASE}.thumb.jpg", "image", "thumb"),
        Preview(f"{BASE}.example.0.jpeg", "image", "example"),
        Preview(f"{BASE}.example.1.png", "image", "example"),
        Preview(f"{BASE}.preview.2.png", "image", "example"),
        Preview(f"{BASE}.example.9.png", "image", "example"),
        Preview(f"{BASE}.example.10.png", "image", "example"),
        Preview(f"{BASE}.preview.mp4", "video", "preview"),
        Preview(f"{BASE}.mp4", "video", "plain"),
        Preview(f"{BASE}.webm", "video", "plain"),
        Preview(f"{BASE}.example.1.webm", "video", "example"),
    ]
    noise = [f"{BASE}.safetensors", f"{BASE}.json", f"{BASE}.metadata.json", "another.png", "another.safetensors"]
    _touch(tmp_path, *(p.name for p in expected), *noise)
    listing = os.listdir(tmp_path)
    for seed in range(5):
        random.Random(seed).shuffle(listing)
        assert find_previews(BASE, listing) == expected
    # the caller may pass only this LoRA's names (already filtered), or a generator
    assert find_previews(BASE, (p.name for p in reversed(expected))) == expected


def test_duplicates_and_non_strings():
    names = [f"{BASE}.png", f"{BASE}.png", None, 3, b"x.png", f"{BASE}.preview.png"]
    assert [p.name for p in find_previews(BASE, names)] == [f"{BASE}.preview.png", f"{BASE}.png"]


def test_base_with_regex_characters(tmp_path):
    base = "my[lora](v2)+.*"
    _touch(tmp_path, base + ".preview.png", base + ".example.1.jpg", "myXlora.png")
    found = find_previews(base, os.listdir(tmp_path))
    assert [p.name for p in found] == [base + ".preview.png", base + ".example.1.jpg"]


def test_base_that_looks_like_a_convention():
    # "foo.preview.png" is foo's preview; for a LoRA literally named "foo.preview" it is plain.
    assert find_previews("foo.preview", ["foo.preview.png"]) == [Preview("foo.preview.png", "image", "plain")]
    assert find_previews("foo", ["foo.preview.png"]) == [Preview("foo.preview.png", "image", "preview")]


def test_empty_base_matches_nothing():
    assert find_previews("", [".png", "a.png"]) == []


def test_find_previews_reads_no_files(tmp_path):
    # Names only: a preview that is a directory, or does not exist, is still reported by name.
    os.mkdir(tmp_path / f"{BASE}.png")
    assert find_previews(BASE, [f"{BASE}.png", f"{BASE}.preview.jpg"]) == [
        Preview(f"{BASE}.preview.jpg", "image", "preview"), Preview(f"{BASE}.png", "image", "plain")]


@pytest.mark.parametrize("name, mime", [
    ("a.png", "image/png"), ("a.PNG", "image/png"), ("a.jpg", "image/jpeg"), ("a.JPEG", "image/jpeg"),
    ("a.webp", "image/webp"), ("a.gif", "image/gif"), ("a.mp4", "video/mp4"), ("a.webm", "video/webm"),
    ("a.preview.jpeg", "image/jpeg"), ("a.example.3.webm", "video/webm"),
    ("a.bmp", "application/octet-stream"), ("noext", "application/octet-stream"), ("", "application/octet-stream"),
])
def test_preview_mime(name, mime):
    assert preview_mime(name) == mime


def test_every_extension_has_a_mime():
    for ext in IMAGE_EXTS + VIDEO_EXTS:
        assert preview_mime("x" + ext) != "application/octet-stream"
        assert preview_mime("x" + ext).split("/")[0] == ("video" if ext in VIDEO_EXTS else "image")
