"""The recommender's model inside a host that lacks it: fetched only where allowed, never on an offline host.

The fetch itself is huggingface_hub's own call (as sentence-transformers makes it); these tests cover
every path that must not reach the network, and what the status tells the user on each.
"""

from __future__ import annotations

import pytest

from lora_manager.recommend.embedder import Embedder, download_blocked
from lora_manager.settings import Settings


@pytest.fixture
def empty_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    import huggingface_hub

    def no_network(*args, **kwargs):
        raise AssertionError("the hub was asked while downloads are not allowed")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", no_network)
    return tmp_path / "hub"


@pytest.mark.parametrize("env,allowed,says", [
    ({"HF_HUB_OFFLINE": "1"}, True, "offline (HF_HUB_OFFLINE is set)"),
    ({"TRANSFORMERS_OFFLINE": "true"}, True, "offline (TRANSFORMERS_OFFLINE is set)"),
    ({}, False, "downloads are off (LORA_MANAGER_EMBED_DOWNLOAD=off)"),
])
def test_an_offline_host_never_fetches_and_says_why(empty_hub_cache, monkeypatch, env, allowed, says):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    emb = Embedder("some-org/a-model-nobody-installed", allow_download=allowed)
    assert emb.load() is False
    assert emb.state == "failed" and emb.download is None and emb.download_status() is None
    assert says in emb.error and "some-org/a-model-nobody-installed" in emb.error


def test_when_allowed_a_missing_model_is_fetched_in_the_loading_thread(empty_hub_cache, monkeypatch):
    """With downloads allowed the hub's snapshot call is made (here it refuses, as an unreachable hub would)."""
    import huggingface_hub

    calls = []

    def unreachable(repo, **kwargs):
        calls.append((repo, kwargs))
        raise OSError("hub unreachable")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", unreachable)
    emb = Embedder("some-org/a-model-nobody-installed")
    assert emb.load() is False
    [(repo, kwargs)] = calls
    assert repo == "some-org/a-model-nobody-installed" and "onnx/*" in kwargs["ignore_patterns"]
    status = emb.download_status()
    assert status["state"] == "failed" and "hub unreachable" in status["error"]
    assert "fetching it failed" in emb.error


def test_an_installed_model_is_never_fetched(empty_hub_cache):
    emb = Embedder("all-MiniLM-L6-v2")
    assert emb.load() is True and emb.source == "package" and emb.download is None


def test_the_setting_reads_from_the_environment():
    assert Settings.from_env({"LORA_MANAGER_EMBED_DOWNLOAD": "off"}).embed_download is False
    assert Settings.from_env({}).embed_download is True
    assert download_blocked({"HF_HUB_OFFLINE": "0"}) is None
