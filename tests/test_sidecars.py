"""Sidecar readers: every dialect from real files, and hostile input that must never raise."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import sys

import pytest

from lora_manager.library import sidecars
from lora_manager.library.records import SidecarFacts
from lora_manager.library.sidecars import (
    MAX_DESCRIPTION,
    MAX_ITEMS,
    MAX_SIDECAR_BYTES,
    SIDECAR_SUFFIXES,
    html_to_text,
    json_dialect,
    parse_a1111_json,
    parse_civitai_model,
    parse_civitai_version,
    parse_cm_info,
    parse_lm_metadata,
    parse_text,
    read_sidecars,
    sidecar_suffix,
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


# ----------------------------------------------------------------------------- dialects from files


def test_a1111_json(tmp_path):
    f = _one(tmp_path, BASE + ".json", A1111)
    assert f == SidecarFacts(
        kind="a1111_json", name=BASE + ".json",
        description="Pixel art style.\nWorks best at 0.8 with a plain background.",
        base_label="SDXL", triggers=["pixel art", "pixelated", "8bit"], sha256=SHA_V2,
        preferred_weight=0.8, negative_text="blurry, smooth", notes="downloaded 2024-03-01",
        civitai_model_id=120096, civitai_version_id=135867,
    )


@pytest.mark.parametrize("sd_version, expected", [
    ("SD1", "SD1"), ("SD2", "SD2"), ("SDXL", "SDXL"), ("SD3", "SD3"),
    ("Unknown", None), ("Other", None), ("", None), (None, None), (3, "3"),
])
def test_a1111_sd_version(sd_version, expected):
    assert parse_a1111_json({"sd version": sd_version}, "x.json").base_label == expected


@pytest.mark.parametrize("weight, expected", [
    (0.8, 0.8), (0, None), (0.0, None), ("0.65", 0.65), ("abc", None), (None, None),
    (True, None), (1, 1.0), (-0.5, -0.5), ([], None), ("nan", None), ("inf", None),
])
def test_a1111_preferred_weight(weight, expected):
    assert parse_a1111_json({"preferred weight": weight}, "x.json").preferred_weight == expected


def test_a1111_html_description_is_stripped():
    f = parse_a1111_json({"description": "<p>Hello&amp;bye</p><p>two</p>"}, "x.json")
    assert f.description == "Hello&bye\ntwo"
    plain = parse_a1111_json({"description": "a < b and c & d"}, "x.json")
    assert plain.description == "a < b and c & d"  # plain text is left alone


def test_civitai_model_json_picks_matching_second_version(tmp_path):
    f = _one(tmp_path, BASE + ".json", CIVITAI_MODEL, sha256=SHA_V2.upper())
    assert f.kind == "civitai_model_json" and f.error is None
    assert f.title == "Pixel Art XL"
    assert f.version_name == "v2.0"
    assert f.civitai_model_id == 120096 and f.civitai_version_id == 135867
    assert f.base_label == "Pony"
    assert f.triggers == ["pixel art", "retro"]
    assert f.tags == ["style", "pixel art"]
    assert f.author == "nerijs"
    assert f.nsfw is False
    assert f.sha256 == SHA_V2 and f.autov3 == "0123456789ab"
    assert f.preview_urls == ["https://image.civitai.com/x/135867/1.jpeg", "https://image.civitai.com/x/135867/2.mp4"]
    assert f.description == "Pixel Art\nUse pixel art & friends.\none\ntwo"


def test_civitai_model_without_hash_takes_first_version_but_states_no_hash():
    f = parse_civitai_model(CIVITAI_MODEL, "x.json")
    assert f.version_name == "v1.0" and f.base_label == "SDXL 1.0" and f.triggers == ["pixel", "8bit"]
    assert f.sha256 is None and f.autov3 is None  # a guess must not claim a hash


def test_civitai_model_unmatched_hash_falls_back_to_first():
    f = parse_civitai_model(CIVITAI_MODEL, "x.json", sha256=SHA_PICKLE)
    assert f.version_name == "v1.0" and f.sha256 is None


def test_civitai_model_single_version_states_its_hash():
    data = dict(CIVITAI_MODEL, modelVersions=[_version(1, "only", SHA_V1, "SD 1.5", "a, b")])
    f = parse_civitai_model(data, "x.json")
    assert f.sha256 == SHA_V1 and f.triggers == ["a", "b"] and f.base_label == "SD 1.5"


def test_sibling_sidecar_hash_picks_the_version(tmp_path):
    _write(tmp_path, BASE + ".json", CIVITAI_MODEL)
    _write(tmp_path, BASE + ".metadata.json", LM_METADATA)  # states SHA_V2
    facts = read_sidecars(str(tmp_path), BASE, [BASE + ".metadata.json", BASE + ".json"])
    assert [f.kind for f in facts] == ["civitai_model_json", "lm_metadata"]
    assert facts[0].version_name == "v2.0" and facts[0].sha256 == SHA_V2


def test_explicit_hash_beats_sibling_hash(tmp_path):
    _write(tmp_path, BASE + ".json", CIVITAI_MODEL)
    _write(tmp_path, BASE + ".metadata.json", LM_METADATA)
    facts = read_sidecars(str(tmp_path), BASE, os.listdir(tmp_path), sha256=SHA_V1)
    assert facts[0].version_name == "v1.0"


def test_civitai_info(tmp_path):
    f = _one(tmp_path, BASE + ".civitai.info", CIVITAI_INFO)
    assert f.kind == "civitai_info" and f.error is None
    assert (f.title, f.version_name, f.base_label) == ("Pixel Art XL", "v2.0", "Pony")
    assert f.triggers == ["pixel art", "retro"]
    assert f.civitai_model_id == 120096 and f.civitai_version_id == 135867
    assert f.sha256 == SHA_V2 and f.autov3 == "a1b2c3d4e5f6"  # the primary file, not the .pt
    assert f.author == "nerijs" and f.nsfw is False
    assert f.description == "Second release"
    assert f.preview_urls == ["https://image.civitai.com/x/a.jpeg"]


def test_civitai_info_file_matching_hash_wins_over_primary():
    f = parse_civitai_version(CIVITAI_INFO, "x.civitai.info", sha256=SHA_PICKLE)
    assert f.sha256 == SHA_PICKLE and f.autov3 is None


@pytest.mark.parametrize("content", [{}, b"{}", b"  {}\n", b"\xef\xbb\xbf{}"])
def test_civitai_info_empty_skeleton_is_not_an_error(tmp_path, content):
    f = _one(tmp_path, BASE + ".civitai.info", content)
    assert f == SidecarFacts(kind="civitai_info", name=BASE + ".civitai.info")


def test_api_info_model_item(tmp_path):
    f = _one(tmp_path, BASE + ".api_info.json", CIVITAI_MODEL, sha256=SHA_V2)
    assert f.kind == "api_info" and f.version_name == "v2.0" and f.title == "Pixel Art XL"


def test_api_info_in_version_shape_is_still_read(tmp_path):
    f = _one(tmp_path, BASE + ".api_info.json", CIVITAI_INFO)
    assert f.kind == "api_info" and f.version_name == "v2.0" and f.sha256 == SHA_V2


def test_civitai_info_in_model_shape_is_still_read():
    assert sidecars._parse("x", "civitai_info", CIVITAI_MODEL, SHA_V2).version_name == "v2.0"


def test_lm_metadata(tmp_path):
    f = _one(tmp_path, BASE + ".metadata.json", LM_METADATA)
    assert f == SidecarFacts(
        kind="lm_metadata", name=BASE + ".metadata.json", title="Pixel Art XL", version_name="v2.0",
        description="Pixel art <3", author="nerijs", base_label="Pony", triggers=["pixel art", "retro"],
        tags=["style", "pixel art"], sha256=SHA_V2, preferred_weight=0.7, weight_min=0.4, weight_max=1.2,
        notes="my favourite", civitai_model_id=120096, civitai_version_id=135867, nsfw=False,
        preview_urls=["https://image.civitai.com/x/lm.jpeg"], favorite=True,
    )


@pytest.mark.parametrize("tips, expected", [
    ('{"strength": 0.7}', (0.7, None, None)),
    ({"strength": "0.5", "strength_min": 0, "strength_max": "x"}, (0.5, 0.0, None)),
    ("{not json", (None, None, None)),
    ("[1, 2]", (None, None, None)),
    ("", (None, None, None)),
    (None, (None, None, None)),
    (7, (None, None, None)),
    ('{"strength": null, "strength_min": true}', (None, None, None)),
])
def test_lm_usage_tips(tips, expected):
    f = parse_lm_metadata({"usage_tips": tips}, "x.metadata.json")
    assert (f.preferred_weight, f.weight_min, f.weight_max) == expected


def test_lm_web_preview_url_kept():
    f = parse_lm_metadata({"preview_url": "https://example.com/p.png"}, "x")
    assert f.preview_urls == ["https://example.com/p.png"]


def test_cm_info(tmp_path):
    f = _one(tmp_path, BASE + ".cm-info.json", CM_INFO)
    assert f == SidecarFacts(
        kind="cm_info", name=BASE + ".cm-info.json", title="Pixel Art XL", version_name="v2.0",
        description="Pixel art", base_label="Pony", triggers=["pixel art", "retro"],
        tags=["style", "pixel art"], sha256=SHA_V2, civitai_model_id=120096, civitai_version_id=135867,
        nsfw=False, preview_urls=["https://image.civitai.com/x/cm.jpeg"],
    )


def test_cm_info_user_title_fills_missing_name():
    assert parse_cm_info({"UserTitle": "Mine", "ModelName": None}, "x").title == "Mine"
    assert parse_cm_info({"modelname": "lower keys"}, "x").title == "lower keys"


@pytest.mark.parametrize("suffix, kind", [(".txt", "txt"), (".description.txt", "description_txt")])
@pytest.mark.parametrize("raw, expected", [
    (b"A plain description.\r\nSecond line.\n", "A plain description.\nSecond line."),
    ("Caf\u00e9 \u2013 \u65e5\u672c".encode(), "Caf\u00e9 \u2013 \u65e5\u672c"),
    (b"\xef\xbb\xbfwith BOM", "with BOM"),
    (b"caf\xe9 latin-1", "caf\u00e9 latin-1"),
    ("utf-16 \u00e9".encode("utf-16"), "utf-16 \u00e9"),
    (b"", None),
    (b"   \n\n ", None),
])
def test_text_sidecars(tmp_path, suffix, kind, raw, expected):
    f = _one(tmp_path, BASE + suffix, raw)
    assert f == SidecarFacts(kind=kind, name=BASE + suffix, description=expected)


def test_text_description_capped():
    assert len(parse_text("x" * (MAX_DESCRIPTION * 3), "a.txt").description) == MAX_DESCRIPTION


# ----------------------------------------------------------------------------- dispatch and order


@pytest.mark.parametrize("data, dialect", [
    (A1111, "a1111_json"), (CIVITAI_MODEL, "civitai_model_json"), ({}, "a1111_json"),
    ({"creator": None}, "civitai_model_json"), ({"modelVersions": []}, "civitai_model_json"),
    ([], "a1111_json"), ("str", "a1111_json"),
])
def test_json_dialect(data, dialect):
    assert json_dialect(data) == dialect


@pytest.mark.parametrize("base, name, suffix", [
    ("foo", "foo.json", ".json"),
    ("foo", "foo.description.txt", ".description.txt"),
    ("foo.description", "foo.description.txt", ".txt"),
    ("foo", "foo.metadata.json", ".metadata.json"),
    ("foo.metadata", "foo.metadata.json", ".json"),
    ("foo", "foo.cm-info.json", ".cm-info.json"),
    ("foo", "foo.api_info.json", ".api_info.json"),
    ("foo", "foo.civitai.info", ".civitai.info"),
    ("foo", "FOO.JSON", ".json"),
    ("foo", "foo.preview.png", None),
    ("foo", "foo.safetensors", None),
    ("foo", "foobar.json", None),
    ("foo", "bar.json", None),
    ("foo", "foo.info", None),
    ("foo", "foo", None),
    ("foo", "foo.json/x", None),
])
def test_sidecar_suffix(base, name, suffix):
    assert sidecar_suffix(base, name) == suffix


def test_all_dialects_together_in_stable_order(tmp_path):
    files = {
        BASE + ".json": A1111, BASE + ".civitai.info": CIVITAI_INFO, BASE + ".api_info.json": CIVITAI_MODEL,
        BASE + ".metadata.json": LM_METADATA, BASE + ".cm-info.json": CM_INFO,
        BASE + ".txt": "plain", BASE + ".description.txt": "described",
        BASE + ".safetensors": b"\x00" * 16, BASE + ".preview.png": b"\x89PNG", "other.json": A1111,
    }
    for name, content in files.items():
        _write(tmp_path, name, content)
    names = list(files)
    expected = ["a1111_json", "civitai_info", "api_info", "lm_metadata", "cm_info", "txt", "description_txt"]
    for seed in range(5):
        random.Random(seed).shuffle(names)
        facts = read_sidecars(str(tmp_path), BASE, names + names[:3])  # duplicates are read once
        assert [f.kind for f in facts] == expected
        assert [f.name for f in facts] == [BASE + s for s in SIDECAR_SUFFIXES]
        assert all(f.error is None for f in facts)
    # the A1111 json states SHA_V2, so the api_info model response picks v2
    assert facts[2].version_name == "v2.0"


def test_does_not_list_the_directory(tmp_path, monkeypatch):
    _write(tmp_path, BASE + ".json", A1111)

    def forbidden(*a, **k):
        raise AssertionError("read_sidecars must not list the folder")

    monkeypatch.setattr(os, "listdir", forbidden)
    monkeypatch.setattr(os, "scandir", forbidden)
    assert read_sidecars(str(tmp_path), BASE, [BASE + ".json"])[0].base_label == "SDXL"


def test_no_names_no_facts(tmp_path):
    assert read_sidecars(str(tmp_path), BASE, []) == []
    assert read_sidecars(str(tmp_path), BASE, iter([BASE + ".png", None, 5])) == []


# ----------------------------------------------------------------------------- hostile files

HOSTILE = [
    (".json", b"", "empty file"),
    (".json", b"  \n\t ", "empty file"),
    (".json", b"{bad json", "not valid JSON"),
    (".json", b'{"a": 1} trailing', "not valid JSON"),
    (".json", b"[1, 2, 3]", "expected a JSON object, got an array"),
    (".civitai.info", b'"just a string"', "expected a JSON object, got a string"),
    (".metadata.json", b"42", "expected a JSON object, got a number"),
    (".metadata.json", b"4.5e3", "expected a JSON object, got a number"),
    (".cm-info.json", b"null", "expected a JSON object, got null"),
    (".cm-info.json", b"true", "expected a JSON object, got a boolean"),
    (".api_info.json", bytes(range(256)) * 8, "binary data"),
    (".json", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
    (".json", b'{"description": "caf\xe9"}', "not UTF-8 text"),
    (".json", b"\xff\xfe{\x00\x00", "not valid UTF-16 text"),
    (".json", b"[" * 100_000, "not valid JSON"),
    (".json", b'{"a": NaN}', "not valid JSON"),
    (".json", b'{"a": 1e999}', "not valid JSON"),
    (".txt", b"\x00\x01\x02binary", "binary data"),
    (".description.txt", b"MZ\x90\x00\x03\x00", "binary data"),
]


@pytest.mark.parametrize("suffix, raw, message", HOSTILE)
def test_hostile_files_give_an_error_not_an_exception(tmp_path, suffix, raw, message):
    f = _one(tmp_path, BASE + suffix, raw)
    assert f.error is not None and f.error.startswith(message), f.error
    assert "\n" not in f.error and len(f.error) <= 200
    assert f.kind == {".json": "a1111_json"}.get(suffix, sidecars._SUFFIX_KINDS[suffix])
    assert f.triggers == [] and f.title is None


@pytest.mark.parametrize("suffix", [".json", ".metadata.json", ".cm-info.json"])
def test_bom_json_is_read(tmp_path, suffix):
    data = {".json": A1111, ".metadata.json": LM_METADATA, ".cm-info.json": CM_INFO}[suffix]
    f = _one(tmp_path, BASE + suffix, b"\xef\xbb\xbf" + json.dumps(data).encode())
    assert f.error is None and f.sha256 == SHA_V2


def test_utf16_json_is_read(tmp_path):
    f = _one(tmp_path, BASE + ".json", json.dumps(A1111).encode("utf-16"))
    assert f.error is None and f.base_label == "SDXL"


def test_too_large_file_is_refused_unread(tmp_path):
    path = os.path.join(tmp_path, BASE + ".json")
    with open(path, "wb") as fh:
        fh.truncate(MAX_SIDECAR_BYTES + 1)  # sparse: cheap to make
    f = read_sidecars(str(tmp_path), BASE, [BASE + ".json"])[0]
    assert f.error.startswith("too large")


def test_file_at_size_limit_is_read_and_capped(tmp_path):
    body = json.dumps({"description": "d" * (MAX_SIDECAR_BYTES // 2),
                       "activation text": ", ".join(f"w{i}" for i in range(5000))}).encode()
    raw = body + b" " * (MAX_SIDECAR_BYTES - len(body))
    assert len(raw) == MAX_SIDECAR_BYTES
    f = _one(tmp_path, BASE + ".json", raw)
    assert f.error is None
    assert len(f.description) == MAX_DESCRIPTION
    assert len(f.triggers) == MAX_ITEMS and f.triggers[:2] == ["w0", "w1"]


def test_directory_named_like_a_sidecar(tmp_path):
    os.mkdir(tmp_path / (BASE + ".json"))
    f = read_sidecars(str(tmp_path), BASE, [BASE + ".json"])[0]
    assert f.error == "not a regular file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / (BASE + ".civitai.info"))
    f = read_sidecars(str(tmp_path), BASE, [BASE + ".civitai.info"])[0]
    assert f.error == "not a regular file"


def test_vanished_and_dangling_files(tmp_path):
    os.symlink(tmp_path / "nowhere", tmp_path / (BASE + ".cm-info.json"))
    facts = read_sidecars(str(tmp_path), BASE, [BASE + ".json", BASE + ".cm-info.json"])
    assert [f.kind for f in facts] == ["a1111_json", "cm_info"]
    assert all(f.error.startswith("cannot read") for f in facts)


def test_symlink_to_a_real_file_is_followed(tmp_path):
    target = _write(tmp_path, "real.json", A1111)
    os.symlink(target, tmp_path / (BASE + ".json"))
    assert read_sidecars(str(tmp_path), BASE, [BASE + ".json"])[0].base_label == "SDXL"


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads mode-000 files")
def test_unreadable_file(tmp_path):
    path = _write(tmp_path, BASE + ".json", A1111)
    os.chmod(path, 0)
    try:
        f = read_sidecars(str(tmp_path), BASE, [BASE + ".json"])[0]
    finally:
        os.chmod(path, 0o644)
    assert f.error.startswith("cannot read")


def test_permission_denied_even_as_root(tmp_path, monkeypatch):
    # The chmod test above is skipped as root; simulate the same refusal from the OS.
    _write(tmp_path, BASE + ".json", A1111)
    real_open = os.open

    def deny(path, *a, **k):
        if os.fspath(path).endswith(BASE + ".json"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *a, **k)

    monkeypatch.setattr(os, "open", deny)
    f = read_sidecars(str(tmp_path), BASE, [BASE + ".json"])[0]
    assert f.error == "cannot read: Permission denied" and f.kind == "a1111_json"


def test_read_error_midway_is_recorded(tmp_path, monkeypatch):
    _write(tmp_path, BASE + ".txt", "text")

    def broken_read(fd, n):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "read", broken_read)
    f = read_sidecars(str(tmp_path), BASE, [BASE + ".txt"])[0]
    assert f.error == "cannot read: Input/output error"


def test_parser_bug_is_recorded_not_raised(tmp_path, monkeypatch):
    _write(tmp_path, BASE + ".json", A1111)
    _write(tmp_path, BASE + ".txt", "still read")

    def boom(data, name):
        raise RuntimeError("boom")

    monkeypatch.setattr(sidecars, "parse_a1111_json", boom)
    facts = read_sidecars(str(tmp_path), BASE, [BASE + ".json", BASE + ".txt"])
    assert facts[0].error == "internal error parsing: RuntimeError: boom"
    assert facts[1].description == "still read"


def test_reading_writes_nothing(tmp_path):
    samples = {".json": A1111, ".civitai.info": {}, ".api_info.json": CIVITAI_MODEL,
               ".metadata.json": LM_METADATA, ".cm-info.json": b"{broken", ".txt": b"caf\xe9",
               ".description.txt": b""}
    for suffix, content in samples.items():
        _write(tmp_path, BASE + suffix, content)
    before = _snapshot(tmp_path)
    facts = read_sidecars(str(tmp_path), BASE, os.listdir(tmp_path))
    assert len(facts) == 7 and facts[4].error.startswith("not valid JSON")
    assert _snapshot(tmp_path) == before


# ----------------------------------------------------------------------------- wrong field types

HOSTILE_VALUES = [None, "", 0, -1, 1.5, True, [], {}, [None], [[["deep"]]], {"a": None}, 10**5000,
                  float("nan"), float("inf"),
                  "x" * 300, "1e999", [1, 2], {"url": 5, "name": None}, "\x00\x00", "<p>&bogus;</p>"]
PARSERS = [
    ("a1111", parse_a1111_json, A1111),
    ("civitai_model", parse_civitai_model, CIVITAI_MODEL),
    ("civitai_version", parse_civitai_version, CIVITAI_INFO),
    ("lm", parse_lm_metadata, LM_METADATA),
    ("cm", parse_cm_info, CM_INFO),
]


def _paths(obj, prefix=()):
    """Every key path in a nested sample (dicts and list items)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


def _replace(obj, path, value):
    obj = copy.deepcopy(obj)
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return obj


@pytest.mark.parametrize("label, parser, sample", PARSERS, ids=[p[0] for p in PARSERS])
@pytest.mark.parametrize("value", HOSTILE_VALUES,
                         ids=["huge int" if isinstance(v, int) and v > 2**64 else repr(v)[:20] for v in HOSTILE_VALUES])
def test_every_field_tolerates_every_wrong_type(label, parser, sample, value):
    for path in _paths(sample):
        f = parser(_replace(sample, path, value), "x.json")
        assert isinstance(f, SidecarFacts) and f.error is None
        assert all(isinstance(t, str) and 0 < len(t) <= 200 for t in f.triggers + f.tags)
        assert f.sha256 is None or (len(f.sha256) == 64 and f.sha256 != EMPTY_SHA)
        for attr in ("civitai_model_id", "civitai_version_id"):
            assert getattr(f, attr) is None or (isinstance(getattr(f, attr), int) and getattr(f, attr) > 0)


def _random_json(rng, depth=0):
    roll = rng.random()
    if depth > 4 or roll < 0.35:
        return rng.choice([None, True, False, 0, -7, 3.25, "", "a, b", "SDXL", SHA_V2, EMPTY_SHA,
                           "https://x/y.png", "<b>x</b>", "\x00", "9" * 30])
    if roll < 0.65:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["name", "id", "modelId", "tags", "trainedWords", "files", "hashes", "SHA256", "images", "url",
            "model", "creator", "username", "modelVersions", "baseModel", "usage_tips", "civitai",
            "Hashes", "Tags", "TrainedWords", "activation text", "preferred weight", "description"]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 6))}


@pytest.mark.parametrize("label, parser, sample", PARSERS, ids=[p[0] for p in PARSERS])
def test_random_structures_never_raise(label, parser, sample):
    rng = random.Random(label)
    for _ in range(400):
        data = _random_json(rng)
        if isinstance(data, dict):
            assert parser(data, "x").error is None


@pytest.mark.parametrize("data, triggers, tags, version_id", [
    ({"trainedWords": "a, b", "tags": None, "model": None, "id": "77", "files": "x", "images": "y"},
     ["a", "b"], [], 77),
    ({"trainedWords": [None, 5, "a", ["b"], {"c": 1}], "model": {"tags": [{"name": "t"}, {"name": 3}, "u"]}},
     ["a"], ["t", "u"], None),
])
def test_civitai_version_wrong_types_best_effort(data, triggers, tags, version_id):
    f = parse_civitai_version(data, "x.civitai.info")
    assert f.error is None and f.sha256 is None
    assert (f.triggers, f.tags, f.civitai_version_id) == (triggers, tags, version_id)


def test_civitai_model_nested_nulls():
    data = {"name": "M", "tags": None, "creator": "bob",
            "modelVersions": [None, "x", {"trainedWords": "a, b", "baseModel": None, "files": [{"hashes": None}],
                                          "images": [None, {"url": 5}, {"url": "https://x/y.jpeg"},
                                                     {"url": "javascript:alert(1)"}]}]}
    f = parse_civitai_model(data, "x.json")
    assert (f.title, f.author, f.tags, f.base_label) == ("M", None, [], None)
    assert f.triggers == ["a", "b"] and f.preview_urls == ["https://x/y.jpeg"]


# ----------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize("value, expected", [
    ("a, b ,, c", ["a", "b", "c"]),
    (["Foo", "foo", "FOO ", "bar"], ["Foo", "bar"]),
    (["a, b", "b, c"], ["a", "b", "c"]),
    ("x" * 201 + ", ok", ["ok"]),
    ("  spaced   out  ", ["spaced out"]),
    (None, []), (5, []), ({"a": "b"}, []),
    ([f"t{i}" for i in range(500)], [f"t{i}" for i in range(MAX_ITEMS)]),
])
def test_trigger_words(value, expected):
    assert parse_a1111_json({"activation text": value}, "x").triggers == expected


@pytest.mark.parametrize("tags, expected", [
    (["style", "Style", "anime"], ["style", "anime"]),
    ([{"name": "style"}, {"name": "anime"}, {"id": 3}], ["style", "anime"]),
    ("style, anime", ["style", "anime"]),
    (None, []),
])
def test_model_tags(tags, expected):
    assert parse_civitai_model({"tags": tags}, "x").tags == expected


@pytest.mark.parametrize("value, expected", [
    (SHA_V2, SHA_V2), (SHA_V2.upper(), SHA_V2), (f"  {SHA_V2}\n", SHA_V2),
    (EMPTY_SHA, None), (EMPTY_SHA.upper(), None), (SHA_V2[:63], None), (SHA_V2 + "0", None),
    ("g" * 64, None), (None, None), (12345, None), ([SHA_V2], None),
])
def test_sha256_validation(value, expected):
    assert parse_a1111_json({"sha256": value}, "x").sha256 == expected
    assert parse_lm_metadata({"sha256": value}, "x").sha256 == expected


@pytest.mark.parametrize("value, expected", [
    ("A1B2C3D4E5F6", "a1b2c3d4e5f6"), ("a1b2c3d4e5", None), ("A1B2C3D4E5F6A", None), ("zzzzzzzzzzzz", None),
    (123456789012, None),
])
def test_autov3_validation(value, expected):
    data = {"files": [{"primary": True, "hashes": {"AutoV3": value}}]}
    assert parse_civitai_version(data, "x").autov3 == expected


@pytest.mark.parametrize("value, expected", [
    (120096, 120096), ("120096", 120096), (120096.0, 120096), (" 7 ", 7),
    (0, None), (-5, None), (True, None), ("12a", None), (1.5, None), ("", None), (2**70, None),
])
def test_civitai_ids(value, expected):
    assert parse_a1111_json({"modelId": value}, "x").civitai_model_id == expected


@pytest.mark.parametrize("html, text", [
    ("<p>One</p><p>Two&nbsp;&amp; three</p>", "One\nTwo & three"),
    ("a<br>b<br/>c", "a\nb\nc"),
    ("<style>p{color:red}</style><script>x()</script>kept", "kept"),
    ("<p>   lots \t of\n\n  space </p>", "lots of space"),
    ("no markup at all", "no markup at all"),
    ("<div><unclosed <p>broken & odd</p>", "broken & odd"),
    ("&lt;script&gt;", "<script>"),
    ("a &#" + "9" * 100_000 + "; b", "a \ufffd b"),  # html.unescape alone raises on this
    ("&#x" + "f" * 5000, "\ufffd"),
    ("&#65;&#x42;&#99999999;", "AB\ufffd"),
    ("x <!-- hidden > still hidden --> y", "x y"),
    ("<!--" * 1000, None),
    ("<a href='x'>link</a> <img src=x alt='a'>text", "link text"),
    ("keep <3 hearts", "keep <3 hearts"),
    ("", None), ("<p> </p>", None), (None, None), (5, None),
])
def test_html_to_text(html, text):
    assert html_to_text(html) == text


@pytest.mark.parametrize("markup", [
    "<?" * 200_000, "<![CDATA[" * 40_000, "<!" * 200_000, "<a" * 400_000, "<" * 400_000,
    "<script>" * 100_000, "&#x" * 200_000, "<p>&#12345678" * 50_000, "<p" * 1_000_000,
], ids=lambda m: repr(m[:10]))
def test_pathological_markup_is_fast_and_safe(tmp_path, markup):
    # html.parser takes ~17 s on the first of these; the stripper must stay linear.
    f = _one(tmp_path, BASE + ".json", {"description": markup, "sd version": "SD1"})
    assert f.error is None and f.base_label == "SD1"
    assert f.description is None or len(f.description) <= MAX_DESCRIPTION
    g = parse_civitai_version({"model": {"description": markup}}, "x")
    assert g.description is None or len(g.description) <= MAX_DESCRIPTION


def test_many_versions_and_files_are_bounded():
    version = {"files": [{"hashes": {"SHA256": SHA_V1}}] * 10_000,
               "images": [{"url": f"https://x/{i}.png"} for i in range(10_000)]}
    f = parse_civitai_model({"modelVersions": [version] * 10_000}, "x", sha256=SHA_V2)
    assert f.sha256 is None and len(f.preview_urls) == sidecars.MAX_URLS


def test_html_description_capped():
    assert len(html_to_text("<p>" + "word " * 50_000 + "</p>")) == MAX_DESCRIPTION


@pytest.mark.parametrize("nsfw, expected", [(True, True), (False, False), ("true", True), (0, False),
                                            ("maybe", None), (None, None), (2, None)])
def test_nsfw_flag(nsfw, expected):
    assert parse_civitai_model({"nsfw": nsfw}, "x").nsfw == expected
