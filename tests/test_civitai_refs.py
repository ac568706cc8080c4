"""What a download may name (references), where it lands (the folder template, every part made
safe, never outside a root), and the settings of updates and downloads."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import given, settings, strategies as st

from lora_manager.civitai.refs import PATTERN, Ref, parse
from lora_manager.civitai.targets import (
    check_template,
    fields_of,
    file_name,
    folder_from_template,
    resolve_folder,
    safe_part,
)
from lora_manager.errors import InvalidInput
from lora_manager.settings import Settings


@pytest.mark.parametrize("text,ref", [
    ("456", Ref(None, 456)),
    (" 456 ", Ref(None, 456)),
    ("https://civitai.com/models/123?modelVersionId=456", Ref(123, 456)),
    ("https://civitai.com/models/123/some-name", Ref(123, None)),
    ("https://civitai.com/models/123/some-name?modelVersionId=9&x=1", Ref(123, 9)),
    ("https://www.civitai.com/models/123/", Ref(123, None)),
    ("https://civitai.com/api/download/models/456", Ref(None, 456)),
    ("https://civitai.com/api/download/models/456?type=Model&format=SafeTensor", Ref(None, 456)),
    ("https://civitai.com/api/v1/model-versions/456", Ref(None, 456)),
    ("urn:air:sdxl:lora:civitai:123@456", Ref(123, 456)),
    ("urn:air:flux1:lora:civitai:123", Ref(123, None)),
    ("http://127.0.0.1:9/models/5", Ref(5, None)),  # the configured Civitai (a stand-in, a mirror)
])
def test_references(text, ref):
    assert parse(text, "http://127.0.0.1:9") == ref


@pytest.mark.parametrize("text", ["", "0", "abc", "12a", "https://evil.example/models/1", "https://civitai.com.evil/models/1",
                                  "https://civitai.com/images/5", "https://civitai.com/models/x", "ftp://civitai.com/models/1",
                                  "urn:air:sdxl:lora:huggingface:1@2", "https://civitai.com/models/1?modelVersionId=0",
                                  "١٢٣"])
def test_what_is_not_a_reference(text):
    with pytest.raises(InvalidInput):
        parse(text)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.from_regex(PATTERN, fullmatch=True))
def test_everything_the_api_schema_allows_parses(text):
    """The route's pattern and the parser agree: a request the schema allows is never refused."""
    ref = parse(text)
    assert ref.model_id or ref.version_id


def test_the_schema_pattern_refuses_other_hosts():
    assert re.match(PATTERN, "https://civitai.com/models/1") and not re.match(PATTERN, "https://example.com/models/1")


def test_every_part_of_a_folder_is_made_safe():
    version = {"id": 11, "modelId": 7, "name": "v1/../../x", "baseModel": "Pony",
               "model": {"name": "../../etc/passwd", "type": "LORA"}}
    values = fields_of(version, {"creator": {"username": "CON"}})
    assert values["base"] == "xl" and values["base_label"] == "Pony"
    folder = folder_from_template("{base}/{model_name}/{creator}/{version_name}", values)
    assert folder == "xl/_.._etc_passwd/_CON/v1_.._.._x"
    assert all(p not in ("..", ".") for p in folder.split("/"))
    assert safe_part(' a:b*c?"d<e>f|g\x01 ') == "a_b_c__d_e_f_g_"
    assert safe_part("...") == "_" and safe_part("nul.txt") == "_nul.txt" and len(safe_part("x" * 500)) == 100
    assert folder_from_template("{model_name}", {"model_name": ""}) == "_"
    assert (
        file_name("My LoRA: v2.SafeTensors") == "My LoRA_ v2.safetensors"
        and file_name("../x.safetensors") == "_x.safetensors"
    )
    assert fields_of({"id": 1, "baseModel": "Something New"})["base"] == "other"


def test_a_folder_outside_the_roots_is_refused(tmp_path):
    root = str(tmp_path / "lib")
    os.makedirs(root)
    inside = lambda p: os.path.realpath(p).startswith(os.path.realpath(root) + os.sep)  # noqa: E731
    assert resolve_folder("", [root], inside) == (root, root)
    assert resolve_folder("a/b", [root], inside) == (os.path.join(root, "a", "b"), root)
    assert resolve_folder(os.path.join(root, "c"), [root], inside)[0] == os.path.join(root, "c")
    for bad in ("../x", "a/../../x", str(tmp_path / "elsewhere"), "/etc"):
        with pytest.raises(InvalidInput):
            resolve_folder(bad, [root], inside)
    os.symlink(str(tmp_path), os.path.join(root, "out"))  # a link out of the root
    with pytest.raises(InvalidInput):
        resolve_folder("out/x", [root], inside)
    (tmp_path / "lib" / "file").write_text("x")
    with pytest.raises(InvalidInput, match="is a file"):
        resolve_folder("file", [root], inside)
    with pytest.raises(InvalidInput, match="no library root"):
        resolve_folder("a", [], inside)


def test_the_settings():
    s = Settings.from_env({"LORA_MANAGER_CIVITAI_UPDATE_HOURS": "6", "LORA_MANAGER_CIVITAI_DOWNLOADS": "2",
                           "LORA_MANAGER_CIVITAI_FOLDER": "{creator}/{model_name}"})
    assert (s.civitai_update_hours, s.civitai_downloads, s.civitai_folder) == (6.0, 2, "{creator}/{model_name}")
    d = Settings.from_env({})
    assert (d.civitai_update_hours, d.civitai_downloads, d.civitai_folder) == (24.0, 1, "{base}/{model_name}")
    for env, words in ((("LORA_MANAGER_CIVITAI_DOWNLOADS", "3"), "1 or 2"),
                       (("LORA_MANAGER_CIVITAI_UPDATE_HOURS", "daily"), "number of hours"),
                       (("LORA_MANAGER_CIVITAI_FOLDER", "{nope}/{model_name}"), "unknown fields"),
                       (("LORA_MANAGER_CIVITAI_FOLDER", "{model_name"), "not a template")):
        with pytest.raises(ValueError, match=words):
            Settings.from_env(dict([env]))
    assert check_template("") == "{base}/{model_name}"
