"""Sidecars that are hostile, broken or of the wrong shape: an error on the entry, never an exception, never a write."""

from __future__ import annotations

import copy
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
    html_to_text,
    parse_a1111_json,
    parse_civitai_model,
    parse_civitai_version,
    parse_cm_info,
    parse_lm_metadata,
    read_sidecars,
)

from .sidecar_samples import (
    A1111,
    BASE,
    CIVITAI_INFO,
    CIVITAI_MODEL,
    CM_INFO,
    EMPTY_SHA,
    LM_METADATA,
    SHA_V1,
    SHA_V2,
    _one,
    _snapshot,
    _write,
)

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
