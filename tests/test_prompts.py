"""Parsing `<lora:...>` tags with the full SDNext syntax."""

from __future__ import annotations

import pytest

from lora_manager.usage.prompts import parse_loras, strip_loras


@pytest.mark.parametrize(
    "prompt,expected",
    [
        ("a cat <lora:catstyle>", [("catstyle", 1.0, 1.0, None)]),
        ("<lora:catstyle:0.7>", [("catstyle", 0.7, 0.7, None)]),
        ("<lora:catstyle:0.7:0.4>", [("catstyle", 0.7, 0.4, None)]),
        ("<lora:catstyle:0.7:0.4:8>", [("catstyle", 0.7, 0.4, 8)]),
        ("<lora:catstyle:te=0.2:unet=0.9>", [("catstyle", 0.2, 0.9, None)]),
        ("<lora:catstyle:unet=0.5>", [("catstyle", 1.0, 0.5, None)]),
        ("<lora:catstyle:1:dyn=16>", [("catstyle", 1.0, 1.0, 16)]),
        ("<LORA:Mixed.Case_v2:-0.5>", [("Mixed.Case_v2", -0.5, -0.5, None)]),
        ("<lyco:old:0.3>", [("old", 0.3, 0.3, None)]),
        ("<lora:a:0.5> and <lora:b:1.2:0>", [("a", 0.5, 0.5, None), ("b", 1.2, 0.0, None)]),
        ("<lora::1>", []),
        ("no tags here <lora unclosed", []),
        ("<lora:x:nonsense>", [("x", None, None, None)]),
    ],
)
def test_parse(prompt, expected):
    got = [(r.name, r.te, r.unet, r.dyn) for r in parse_loras(prompt)]
    assert got == expected


def test_schedules_and_blocks():
    (ref,) = parse_loras("<lora:s:0@0,1@10:in=1,0,1:out=0.5>")
    assert ref.schedule == "0@0,1@10" and ref.te == 0.0 and ref.blocks == {"in": "1,0,1", "out": "0.5"}
    assert parse_loras("<lora:z:0:0>")[0].skipped and not parse_loras("<lora:z:0:1>")[0].skipped
    assert ref.as_dict()["raw"] == "<lora:s:0@0,1@10:in=1,0,1:out=0.5>"


def test_strip():
    assert strip_loras("<lora:a:1>, a cat, <lora:b>, on a mat") == "a cat, on a mat"
    assert strip_loras(None) == ""
