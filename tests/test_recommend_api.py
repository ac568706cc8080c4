"""The recommendation routes over a real library (lexical mode: the model is off,
so these stay fast; the semantic path is tested in test_recommend.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lora_manager.api.routes import PREFIX as P
from lora_manager.standalone.app import create_app

from .conftest import scan
from .test_recommend import LIBRARY, build_library


@pytest.fixture
def client(make_app, library):
    build_library(library)
    core = make_app(library, embed_model="off")
    scan(core)
    with TestClient(create_app(core)) as c:
        yield c


def test_for_prompt_shape(client):
    r = client.post(f"{P}/recommendations/for-prompt",
                    json={"prompt": "<lora:oldKnight:1> glowing cyberpunk metropolis", "limit": 3})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"mode", "base", "base_source", "items"} and body["mode"] == "lexical"
    top = body["items"][0]
    assert set(top) == {"lora", "score", "reasons", "tag", "triggers"}
    assert top["lora"]["prompt_name"] == "neonCity_v2" and top["tag"] == "<lora:neonCity_v2:1.0>"
    assert all(set(reason) >= {"kind", "text"} for reason in top["reasons"])
    assert "oldKnight" not in [i["lora"]["prompt_name"] for i in body["items"]]


def test_preferred_weight_in_the_tag(client):
    client.patch(f"{P}/loras/neonCity_v2", json={"preferred_weight": 0.65})
    r = client.post(f"{P}/recommendations/for-prompt", json={"prompt": "cyberpunk metropolis", "limit": 1}).json()
    assert r["items"][0]["tag"] == "<lora:neonCity_v2:0.65>"


@pytest.mark.parametrize("body,status", [
    ({"prompt": "x" * 10_001}, 422),
    ({"prompt": "x", "limit": 0}, 422),
    ({"prompt": "x", "limit": 51}, 422),
    ({"prompt": "x", "base": "sd99"}, 422),
    ({"prompt": 5}, 422),
    ({"prompt": "x", "extra": 1}, 422),
    ({}, 422),
])
def test_for_prompt_rejects_bad_input(client, body, status):
    r = client.post(f"{P}/recommendations/for-prompt", json=body)
    assert r.status_code == status and set(r.json()) == {"error"}


def test_huge_body_is_refused(client):
    r = client.post(f"{P}/recommendations/for-prompt", content=b'{"prompt": "' + b"x" * (2 << 20) + b'"}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_empty_and_unicode_prompts(client):
    assert client.post(f"{P}/recommendations/for-prompt", json={"prompt": ""}).json()["items"] == []
    r = client.post(f"{P}/recommendations/for-prompt", json={"prompt": "猫耳の女の子 \u0000 ネオン \u202e 🐱"})
    assert r.status_code == 200
    # A lone surrogate, escaped: JSON, but not text; a clear 422, never a 500.
    body = b'{"prompt": "\\ud800 neon"}'
    r = client.post(f"{P}/recommendations/for-prompt", content=body, headers={"content-type": "application/json"})
    assert r.status_code in (200, 422) and (r.status_code == 200 or set(r.json()) == {"error"})


def test_similar_feedback_status(client):
    r = client.get(f"{P}/recommendations/similar/neonCity_v2", params={"limit": 5, "base": "xl"})
    assert r.status_code == 200 and [i["lora"]["prompt_name"] for i in r.json()["items"]] == ["xlNeonGlow"]
    assert client.get(f"{P}/recommendations/similar/nope").status_code == 404
    assert client.get(f"{P}/recommendations/similar/neonCity_v2", params={"base": "sd99"}).status_code == 422
    r = client.post(f"{P}/recommendations/feedback", json={"key": "neonCity_v2", "action": "accept", "user": "ann"})
    assert r.status_code == 200 and r.json()["accepts"] == 1
    assert client.post(f"{P}/recommendations/feedback", json={"key": "nope", "action": "accept"}).status_code == 404
    assert (
        client.post(f"{P}/recommendations/feedback", json={"key": "neonCity_v2", "action": "love"}).status_code == 422
    )
    s = client.get(f"{P}/recommendations/status").json()
    assert s["mode"] == "lexical" and s["model"]["state"] == "disabled" and s["index"]["library"] == len(LIBRARY)
    assert "turned off" in s["reason"]


def test_lexical_ranking_imports_no_heavy_libraries(tmp_path):
    """With the model off, answering a prompt needs neither torch, faiss, numpy nor sentence-transformers."""
    import subprocess
    import sys

    code = (
        "import sys; from lora_manager.app import build; from lora_manager.settings import Settings;"
        f"core = build(Settings(lora_dirs=[], data_dir={str(tmp_path)!r}, embed_model='off'));"
        "print(core.recommender.for_prompt('a castle')['mode']); core.close();"
        "heavy = sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('torch', 'faiss', 'numpy', 'sentence_transformers'));"
        "print('HEAVY', heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "lexical" in proc.stdout and "HEAVY []" in proc.stdout, proc.stdout + proc.stderr
