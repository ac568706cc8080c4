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


@pytest.mark.parametrize("argv,env,expect_pg,expect_redis", [
    (["--lora-manager-db", "postgresql://u@nas/lib"], {}, True, False),
    (["--lora-manager-db=postgresql+psycopg://u@nas/lib"], {}, True, False),
    (["--lora-manager-db", "sqlite:////data/x.db"], {}, False, False),
    ([], {"COMMANDLINE_ARGS": "--listen --lora-manager-db postgresql://u@nas/lib --lora-manager-redis redis://nas"},
     True, True),
    (["--lora-manager-redis", "redis://nas:6379/0"], {}, False, True),
    ([], {"LORA_MANAGER_REDIS": "redis://nas"}, False, True),
])
def test_the_hosts_flags_decide_the_drivers(monkeypatch, argv, env, expect_pg, expect_redis):
    """--lora-manager-db postgresql://... on the host's command line (not only LORA_MANAGER_DB) brings the
    PostgreSQL driver; a Redis URL by flag or setting brings the redis client."""
    monkeypatch.setattr(sys, "argv", ["install.py", *argv])
    for key in ("COMMANDLINE_ARGS", "LORA_MANAGER_REDIS"):
        monkeypatch.delenv(key, raising=False)
    calls = run_install(monkeypatch, set(), env)
    assert any("psycopg" in c for c in calls) is expect_pg
    assert any('"redis>=' in c for c in calls) is expect_redis


def test_the_parent_process_command_line_is_read(monkeypatch, tmp_path):
    """The host runs install.py as its subprocess: the flags are on the parent's command line."""
    import subprocess

    script = tmp_path / "launch.py"
    script.write_text("is_installed = lambda name: False\n"
                      "def run_pip(args, desc=None):\n    print('PIP', args)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_") and k != "COMMANDLINE_ARGS"}
    env["PYTHONPATH"] = str(tmp_path)
    host = ("import subprocess, sys; subprocess.run([sys.executable, sys.argv[1]], check=True)")
    out = subprocess.run([sys.executable, "-c", host, os.path.join(ROOT, "install.py"),
                          "--lora-manager-db", "postgresql://u@nas/lib"], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert "psycopg" in out and "redis>=" not in out
