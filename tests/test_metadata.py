"""Normalising kohya ss_*, modelspec.* and ssmd_* metadata plus sidecars into one record."""

from __future__ import annotations

import json

import pytest

from lora_manager.library.header import read_header
from lora_manager.library.metadata import normalise
from lora_manager.library.records import SidecarFacts

from .loras import write_lora

KOHYA = {
    "ss_output_name": "mystyle_v3",
    "ss_network_module": "networks.lora",
    "ss_network_dim": "16",
    "ss_network_alpha": "8.0",
    "ss_base_model_version": "sdxl_base_v1-0",
    "ss_training_started_at": "1700000000.5",
    "ss_training_finished_at": "1700003600",
    "ss_resolution": "(1024, 1024)",
    "ss_training_comment": "trained on my photos",
    "ss_tag_frequency": json.dumps({"10_sks woman": {"1girl": 30, "smile": 12, "sks": 30},
                                    "5_bg": {"smile": 3, "tree": 1}}),
    "ss_datasets": json.dumps([{"subsets": [{"class_tokens": "sks woman", "num_repeats": 10}]}]),
}


def _facts(tmp_path, meta, sidecars=(), name="x.safetensors"):
    path = write_lora(tmp_path / name, family="xl", metadata=meta)
    return normalise(read_header(path), list(sidecars), [], name)


def test_kohya_metadata(tmp_path):
    f = _facts(tmp_path, KOHYA)
    assert f.alias == "mystyle_v3" and f.network_type == "LoRA" and (f.rank, f.alpha) == (16, 8.0)
    assert (f.base.family, f.base.source) == ("xl", "ss_base_model_version")
    assert f.trained_started == "2023-11-14T22:13:20+00:00" and f.trained_finished == "2023-11-14T23:13:20+00:00"
    assert f.resolution == "1024x1024" and f.description == "trained on my photos"
    assert f.triggers == ["sks woman"]
    assert f.training_tags[:3] == [("1girl", 30), ("sks", 30), ("smile", 15)]
    assert "ss_tag_frequency" in f.metadata and "summarised" in f.metadata["ss_tag_frequency"]


def test_modelspec_and_ssmd(tmp_path):
    meta = {
        "modelspec.sai_model_spec": "1.0.0",
        "modelspec.architecture": "stable-diffusion-xl-v1-base/lora",
        "modelspec.title": "Pretty Title",
        "modelspec.description": "the spec description",
        "modelspec.author": "someone",
        "modelspec.trigger_phrase": "glowing, neon lights",
        "modelspec.tags": "Style, Neon",
        "modelspec.thumbnail": "data:image/png;base64,iVBORw0KGgo=",
        "ssmd_keywords": "extra word, glowing",
    }
    f = _facts(tmp_path, meta)
    assert f.title == "Pretty Title" and f.description == "the spec description" and f.author == "someone"
    assert f.triggers == ["glowing", "neon lights", "extra word"]
    assert f.source_tags == ["style", "neon"] and f.cover_mime == "image/png"


def test_sidecars_fill_gaps_and_suggest_weights(tmp_path):
    side = SidecarFacts(kind="civitai_info", name="x.civitai.info", title="Civitai Name", base_label="Pony",
                        triggers=["ponyword"], tags=["character"], preferred_weight=0.8, description="from civitai")
    broken = SidecarFacts(kind="a1111_json", name="x.json", error="not valid JSON", triggers=["never"])
    f = _facts(tmp_path, {"ss_base_model_version": "sdxl_base_v1-0"}, [side, broken])
    assert f.title == "Civitai Name" and f.description == "from civitai"
    assert f.triggers == ["ponyword"] and f.source_tags == ["character"]
    assert (f.base.family, f.base.label) == ("xl", "Pony")
    assert f.suggested == {"preferred_weight": 0.8}
    assert [s.name for s in f.sidecars] == ["x.civitai.info", "x.json"], "a broken sidecar is listed with its error"


@pytest.mark.parametrize(
    "meta",
    [
        {"ss_tag_frequency": "{not json", "ss_datasets": "[", "ss_training_started_at": "yesterday",
         "ss_resolution": "big"},
        {"ss_tag_frequency": json.dumps({"d": ["list", "not", "dict"]}), "ss_datasets": json.dumps({"a": 1})},
        {"ss_tag_frequency": json.dumps({"d": {"x": "many"}}), "ss_network_dim": "Dynamic", "ss_network_alpha": "nan?"},
        {"modelspec.trigger_phrase": "x" * 1000, "ss_output_name": "", "sshs_model_hash": "not-a-hash"},
        {"ss_training_started_at": "1e30", "ss_dataset_dirs": json.dumps({"10_sks dog": {"n_repeats": 10}})},
    ],
)
def test_garbage_metadata_never_raises(tmp_path, meta):
    f = _facts(tmp_path, meta)
    assert f.trained_started is None and f.header_hash is None and f.resolution is None
    assert all(len(t) <= 200 for t in f.triggers)
    assert all(isinstance(t, str) and isinstance(n, int) for t, n in f.training_tags)


def test_old_kohya_dataset_dirs_give_class_tokens(tmp_path):
    f = _facts(tmp_path, {"ss_dataset_dirs": json.dumps({"10_sks dog": {"n_repeats": 10}, "plain": {}})})
    assert f.triggers == ["sks dog"]


def test_huge_values_are_trimmed(tmp_path):
    f = _facts(tmp_path, {"ss_training_comment": "c" * 50_000, "custom": "v" * 10_000})
    assert len(f.description) == 20_000 and len(f.metadata["custom"]) <= 4_097
