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
    callbacks: dict[str, list] = {"app_started": [], "after_process": [], "ui_settings": []}
    script_callbacks = types.ModuleType("modules.script_callbacks")
    script_callbacks.on_app_started = lambda fn: callbacks["app_started"].append(fn)
    script_callbacks.on_after_process = lambda fn: callbacks["after_process"].append(fn)
    script_callbacks.on_ui_settings = lambda fn: callbacks["ui_settings"].append(fn)
    app = FastAPI()
    shared = types.ModuleType("modules.shared")
    shared.cmd_opts = cmd_opts
    shared.api = HostApi(app)
    class Opts(types.SimpleNamespace):
        def add_option(self, key, info):  # the host stores the default as the current value
            self.added[key] = info
            setattr(self, key, info.default)

    class OptionInfo:
        def __init__(self, default=None, label="", component=None, component_args=None, section=None):
            self.default, self.label, self.section = default, label, section

    shared.opts = Opts(sd_model_checkpoint="base_model.safetensors", added={})
    shared.OptionInfo = OptionInfo
    shared.sd_model_type = "sd"
    shared.state = types.SimpleNamespace(interrupted=False, skipped=False)
    scripts_mod = types.ModuleType("modules.scripts")

    class Script:  # the host's base class: subclasses in a scripts/ file are registered
        pass

    scripts_mod.Script, scripts_mod.AlwaysVisible = Script, object()
    lora_common = types.ModuleType("modules.lora.lora_common")
    lora_common.loaded_networks = []
    lora_load = types.ModuleType("modules.lora.lora_load")
    lora_load.refreshes = []
    lora_load.list_available_networks = lambda: lora_load.refreshes.append(time.time())
    lora_pkg = types.ModuleType("modules.lora")
    lora_pkg.lora_common, lora_pkg.lora_load = lora_common, lora_load
    modules = types.ModuleType("modules")
    modules.shared, modules.script_callbacks, modules.scripts, modules.lora = shared, script_callbacks, scripts_mod, lora_pkg
    for name, mod in (("modules", modules), ("modules.shared", shared), ("modules.script_callbacks", script_callbacks),
                      ("modules.scripts", scripts_mod), ("modules.lora", lora_pkg), ("modules.lora.lora_common", lora_common),
                      ("modules.lora.lora_load", lora_load)):
        monkeypatch.setitem(sys.modules, name, mod)
    write_lora(tmp_path / "models" / "Lora" / "hosted.safetensors")
    write_lora(tmp_path / "extra" / "extra_one.safetensors", seed=1)
    yield types.SimpleNamespace(app=app, shared=shared, callbacks=callbacks, cmd_opts=cmd_opts, lora_common=lora_common,
                                Script=Script, lora_load=lora_load)
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
        # our first scan found new files: the host's own list is refreshed
        end = time.time() + 10
        while not host.lora_load.refreshes and time.time() < end:
            time.sleep(0.05)
        assert host.lora_load.refreshes
        before = len(host.lora_load.refreshes)
        assert client.post("/lora-manager/v1/loras/hosted/move", json={"name": "renamed"}).status_code == 200
        while len(host.lora_load.refreshes) == before and time.time() < end:
            time.sleep(0.05)
        assert len(host.lora_load.refreshes) > before


class Net:
    def __init__(self, name, te, unet):
        self.name, self.te_multiplier, self.unet_multiplier = name, te, unet


def _p(prompt):
    return types.SimpleNamespace(prompt=prompt, negative_prompt="blurry", seed=7, steps=20, width=512, height=768,
                                 sampler_name="Euler a")


def test_recorder_script_records_done_interrupted_and_not_found(host, monkeypatch):
    monkeypatch.syspath_prepend(ROOT)
    ns = runpy.run_path(os.path.join(ROOT, "scripts", "lora_manager.py"))
    recorder_cls = ns["LoraManagerRecorder"]
    assert issubclass(recorder_cls, host.Script)
    script = recorder_cls()
    assert script.show(False) is sys.modules["modules.scripts"].AlwaysVisible and script.ui(False) == []
    host.callbacks["app_started"][0](None, host.app)
    (after_process,) = host.callbacks["after_process"]

    # 1. a finished job: postprocess, then the host's finally
    p = _p("portrait <lora:hosted:0.7> <lora:ghost:1>")
    script.before_process(p)
    host.lora_common.loaded_networks[:] = [Net("hosted", 0.7, 0.7)]
    script.postprocess(p, processed=None)
    after_process(p)
    # 2. an interrupted job: no postprocess
    p2 = _p("<lora:extra_one:0.4:0.2>")
    script.before_process(p2)
    host.lora_common.loaded_networks[:] = [Net("extra_one", 0.4, 0.2)]
    host.shared.state.interrupted = True
    after_process(p2)

    from lora_manager.host import sdnext

    core = sdnext._state["core"]
    assert core.recorder.flush(10)
    items = core.repo.list_usage()["items"]
    assert [e["outcome"] for e in items] == ["interrupted", "done"]
    done = items[1]
    assert (done["seed"], done["width"], done["height"], done["sampler"], done["checkpoint"]) == (7, 512, 768, "Euler a", "base_model.safetensors")
    assert {x["prompt_name"]: x["status"] for x in done["loras"]} == {"hosted": "applied", "ghost": "not_found"}
    assert [(x["applied_te"], x["applied_unet"]) for x in items[0]["loras"]] == [(0.4, 0.2)]


def test_recorder_never_raises_into_the_host(host, monkeypatch):
    monkeypatch.syspath_prepend(ROOT)
    ns = runpy.run_path(os.path.join(ROOT, "scripts", "lora_manager.py"))
    script = ns["LoraManagerRecorder"]()
    host.callbacks["app_started"][0](None, host.app)
    weird = types.SimpleNamespace(prompt=object(), seed="not a number", steps=None)
    script.before_process(weird)
    script.postprocess(weird, processed=None)
    host.callbacks["after_process"][0](types.SimpleNamespace())


def test_settings_section_and_turning_recording_off(host, monkeypatch):
    monkeypatch.syspath_prepend(ROOT)
    ns = runpy.run_path(os.path.join(ROOT, "scripts", "lora_manager.py"))
    (settings_cb,) = host.callbacks["ui_settings"]
    settings_cb()
    assert {k: v.section for k, v in host.shared.opts.added.items()} == {
        "lora_manager_record_usage": ("lora_manager", "LoRA Manager"),
        "lora_manager_refresh_host_list": ("lora_manager", "LoRA Manager"),
    }
    host.callbacks["app_started"][0](None, host.app)
    host.shared.opts.lora_manager_record_usage = False
    script = ns["LoraManagerRecorder"]()
    p = _p("<lora:hosted:1>")
    script.before_process(p)
    script.postprocess(p, processed=None)
    from lora_manager.host import sdnext

    core = sdnext._state["core"]
    core.recorder.flush(5)
    assert core.repo.list_usage()["total"] == 0
