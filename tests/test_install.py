"""install.py as the host runs it, with the host's `launch` helpers standing in: it asks
only for what is missing, never for the host's own packages, and never lets pip move
the host's transformers or torch."""

from __future__ import annotations

import os
import runpy
import sys
import types

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST_OWNED = ("torch", "gradio", "fastapi", "pydantic", "transformers", "numpy", "diffusers")


def run_install(monkeypatch, installed: set[str], env: dict[str, str] | None = None) -> list[str]:
    calls: list[str] = []
    launch = types.ModuleType("launch")
    launch.is_installed = lambda name: name in installed
    launch.run_pip = lambda args, desc=None: calls.append(args)
    monkeypatch.setitem(sys.modules, "launch", launch)
    for key in ("LORA_MANAGER_DB", "LORA_MANAGER_EMBED_MODEL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    runpy.run_path(os.path.join(ROOT, "install.py"))
    return calls


def test_a_bare_host_gets_only_ours(monkeypatch):
    calls = run_install(monkeypatch, set())
    joined = " ".join(calls)
    assert all(f'"{name}' not in joined and f" {name}" not in joined.replace("--no-deps ", "") for name in HOST_OWNED)
    assert any("SQLAlchemy" in c for c in calls) and any("faiss-cpu" in c for c in calls)
    [st] = [c for c in calls if "sentence-transformers" in c]
    assert st.startswith("install --no-deps ")
    assert not any("psycopg" in c for c in calls)


def test_nothing_when_everything_is_there(monkeypatch):
    have = {"sqlalchemy", "alembic", "orjson", "safetensors", "tqdm", "faiss", "sklearn", "sentence_transformers",
            "httpx", "tenacity", "nh3"}
    assert run_install(monkeypatch, have) == []


@pytest.mark.parametrize("env,expect_recommender,expect_pg", [
    ({"LORA_MANAGER_EMBED_MODEL": "off"}, False, False),
    ({"LORA_MANAGER_DB": "postgresql+psycopg://u@h/db"}, True, True),
])
def test_settings_decide_the_optional_parts(monkeypatch, env, expect_recommender, expect_pg):
    calls = run_install(monkeypatch, set(), env)
    assert any("sentence-transformers" in c for c in calls) is expect_recommender
    assert any("psycopg" in c for c in calls) is expect_pg
