"""`lora-manager civitai download` and `civitai updates` against the stand-in: text, one JSON document, exit codes."""

from __future__ import annotations

import json

import orjson
import pytest

from lora_manager.cli import main

from .civitai_dl_helpers import KEY, publish
from .civitai_dl_standin import DownloadStandin


@pytest.fixture
def civ(monkeypatch):
    with DownloadStandin() as standin:
        monkeypatch.setenv("LORA_MANAGER_CIVITAI_URL", standin.url)
        monkeypatch.setenv("LORA_MANAGER_CIVITAI_KEY", KEY)
        monkeypatch.setenv("LORA_MANAGER_CIVITAI_RATE", "1000")
        monkeypatch.setenv("LORA_MANAGER_EMBED_MODEL", "off")
        yield standin


@pytest.fixture
def dirs(tmp_path):
    (tmp_path / "lib").mkdir()
    return ["--lora-dir", str(tmp_path / "lib"), "--data-dir", str(tmp_path / "data")]


def test_download_prints_where_it_landed_and_json_is_one_document(civ, dirs, tmp_path, capsys):
    publish(civ, tmp_path, versions=((12, "v3", "2025-05-01T00:00:00.000Z"), (11, "v2", "2025-03-01T00:00:00.000Z")))
    assert main(["civitai", "download", "https://civitai.com/models/7?modelVersionId=11", *dirs]) == 0
    out = capsys.readouterr().out
    assert "downloaded A LoRA v2 ->" in out and str(tmp_path / "lib" / "xl" / "A LoRA" / "v11-alice.safetensors") in out
    assert main(["civitai", "download", "12", "--to", "picked", "--json", *dirs]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["state"] == "done" and job["target"] == str(tmp_path / "lib" / "picked" / "alice.safetensors")
    assert main(["list", "--json", *dirs]) == 0
    assert len(json.loads(capsys.readouterr().out)["items"]) == 2


def test_a_failed_download_exits_1_with_its_message(civ, dirs, tmp_path, capsys):
    publish(civ, tmp_path)
    civ.refuse[11] = 401
    assert main(["civitai", "download", "11", *dirs]) == 1
    err = capsys.readouterr().err
    assert "error: Civitai refused the download (HTTP 401)" in err and KEY not in err
    assert main(["civitai", "download", "11", "--json", *dirs]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["error"]["code"] == "gated" and doc["error"]["details"]["job"]["state"] == "failed"
    assert main(["civitai", "download", "https://example.com/x", *dirs]) == 1
    assert "is not Civitai" in capsys.readouterr().err
    assert main(["civitai", "download", "11", "--to", "../out", "--json", *dirs]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "invalid_input"


def test_updates_lists_newer_versions(civ, dirs, tmp_path, capsys):
    publish(civ, tmp_path, versions=((12, "v3", "2025-05-01T00:00:00.000Z"), (10, "v1", "2025-01-01T00:00:00.000Z")))
    from .loras import write_lora

    write_lora(tmp_path / "lib" / "alice.safetensors", family="xl", seed=4)
    (tmp_path / "lib" / "alice.civitai.info").write_bytes(orjson.dumps(civ.versions[10]))
    assert main(["scan", *dirs]) == 0
    capsys.readouterr()
    assert main(["civitai", "updates", *dirs]) == 0
    out = capsys.readouterr().out
    assert f"alice: v1 (10) -> v3 (12), 1 newer  {civ.url}/models/7?modelVersionId=12" in out
    assert main(["civitai", "updates", "--no-check", "--all", "--json", *dirs]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["check"] is None and [i["lora"]["prompt_name"] for i in doc["items"]] == ["alice"]
    assert doc["status"]["last_checked_at"] and len(civ.paths("/api/v1/models/7")) == 1
