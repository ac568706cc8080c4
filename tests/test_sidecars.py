"""Sidecar readers: every dialect from real files, and hostile input that must never raise."""

from __future__ import annotations

import os
import random

import pytest

from lora_manager.library import sidecars
from lora_manager.library.records import SidecarFacts
from lora_manager.library.sidecars import (
    MAX_DESCRIPTION,
    SIDECAR_SUFFIXES,
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

from .sidecar_samples import (
    A1111,
    BASE,
    CIVITAI_INFO,
    CIVITAI_MODEL,
    CM_INFO,
    LM_METADATA,
    SHA_PICKLE,
    SHA_V1,
    SHA_V2,
    _one,
    _version,
    _write,
)

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
        notes="my favourite", civitai_model_id=120096, civitai_version_id=135867, nsfw=False, nsfw_level=1,
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
