"""The extension's entry files, loaded the way the host loads them, against a small
stand-in of the host modules (script callbacks, shared.cmd_opts, shared.api)."""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import time
import types

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from .loras import write_lora

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class HostApi:
    """SDNext's `shared.api`: add_api_route(path, endpoint, auth=True, **kwargs) onto the app."""

    def __init__(self, app):
        self.app = app
        self.calls = []

    def add_api_route(self, path, endpoint, auth=True, **kwargs):
        self.calls.append((path, auth))
        self.app.add_api_route(path, endpoint, **kwargs)


@pytest.fixture
def host(tmp_path, monkeypatch):
    parser = argparse.ArgumentParser()
    parser.add_argument("--lora-dir", default=str(tmp_path / "models" / "Lora"))
    parser.add_argument("--data-dir", default=str(tmp_path))
    runpy.run_path(os.path.join(ROOT, "preload.py"))["preload"](parser)
    cmd_opts = parser.parse_args(["--lora-manager-lora-dir", str(tmp_path / "extra")])
    callbacks: dict[str, list] = {"app_started": []}
    script_callbacks = types.ModuleType("modules.script_callbacks")
    script_callbacks.on_app_started = lambda fn: callbacks["app_started"].append(fn)
    app = FastAPI()
    shared = types.ModuleType("modules.shared")
    shared.cmd_opts = cmd_opts
    shared.api = HostApi(app)
    modules = types.ModuleType("modules")
    modules.shared, modules.script_callbacks = shared, script_callbacks
    for name, mod in (("modules", modules), ("modules.shared", shared), ("modules.script_callbacks", script_callbacks)):
        monkeypatch.setitem(sys.modules, name, mod)
    write_lora(tmp_path / "models" / "Lora" / "hosted.safetensors")
    write_lora(tmp_path / "extra" / "extra_one.safetensors", seed=1)
    yield types.SimpleNamespace(app=app, shared=shared, callbacks=callbacks, cmd_opts=cmd_opts)
    from lora_manager.host import sdnext

    core = sdnext._state.pop("core", None)
    if core is not None:
        core.scans.wait(30)
        core.close()


def test_preload_adds_our_flags(host):
    assert host.cmd_opts.lora_manager_lora_dir and host.cmd_opts.lora_manager_no_recommender is False


def test_script_registers_routes_through_the_host_and_scans_in_background(host, monkeypatch):
    monkeypatch.syspath_prepend(ROOT)
    started = time.perf_counter()
    runpy.run_path(os.path.join(ROOT, "scripts", "lora_manager.py"))
    assert time.perf_counter() - started < 1.0
    assert len(host.callbacks["app_started"]) == 1
    host.callbacks["app_started"][0](None, host.app)
    assert host.shared.api.calls and all(auth for _, auth in host.shared.api.calls)
    from lora_manager.host import sdnext

    sdnext._state["first_scan"].join(30)
    sdnext._state["core"].scans.wait(60)
    with TestClient(host.app) as client:
        body = client.get("/lora-manager/v1/loras", params={"sort": "name"}).json()
        assert [e["prompt_name"] for e in body["items"]] == ["extra_one", "hosted"]
        assert client.get("/lora-manager/v1/loras/missing-one").json()["error"]["code"] == "not_found"
        system = client.get("/lora-manager/v1/system").json()
        assert system["host"]["name"] == "SDNext"
