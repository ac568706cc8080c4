"""The extension inside a stand-in of SDNext (tests/standin.py, written from the host
contract): loaded as the host loads it, callbacks fired in the host's order."""

from __future__ import annotations

import os
import threading
import time

import pytest
from fastapi.testclient import TestClient

from .loras import write_lora
from .standin import Host

P = "/lora-manager/v1"


@pytest.fixture
def host(tmp_path, monkeypatch):
    # The recommender starts with the host; its model is tested elsewhere, so here it stays lexical.
    monkeypatch.setenv("LORA_MANAGER_EMBED_MODEL", "off")
    h = Host(tmp_path, monkeypatch)
    write_lora(h.lora_dir / "hosted.safetensors", metadata={"modelspec.trigger_phrase": "hostword"})
    write_lora(tmp_path / "extra" / "extra_one.safetensors", seed=1)
    (h.lora_dir / "broken.safetensors").write_bytes(b"not a lora")
    import sys

    h.modules_before = set(sys.modules)  # other tests in this process may have imported torch already
    h.load_extension("--lora-manager-lora-dir", str(tmp_path / "extra"))
    yield h
    core = h.adapter.ready(30)
    if core is not None:
        core.scans.wait(30)
        core.close()


def _core(host):
    core = host.adapter.ready(30)
    core.scans.wait(60)
    # the host refreshes its list after our first scan; like the real one, it is partial
    # while it refreshes (docs/host.md), so let that finish before generating
    for thread in threading.enumerate():
        if thread.name == "lora-manager-changed":
            thread.join(10)
    return core


def wait_for(predicate, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_loading_is_light_and_registers_in_host_order(host):
    assert [c.__name__ for c in host.script_classes] == ["LoraManagerRecorder"]
    assert host.shared.cmd_opts.lora_manager_lora_dir and host.shared.cmd_opts.lora_manager_no_recommender is False
    assert set(host.callbacks.registered) >= {"app_started", "ui_settings", "ui_tabs", "after_process"}
    import sys

    new = set(sys.modules) - host.modules_before
    assert not any(m.split(".")[0] in ("torch", "sentence_transformers", "faiss") for m in new)
    host.start()
    assert set(host.shared.opts.added) == {"lora_manager_record_usage", "lora_manager_refresh_host_list",
                                           "lora_manager_autocomplete", "lora_manager_autocomplete_triggers",
                                           "lora_manager_autocomplete_incompatible", "lora_manager_write_sidecars"}
    incompatible = host.shared.opts.added["lora_manager_autocomplete_incompatible"]
    assert incompatible.default == "mark" and incompatible.component_args == {"choices": ["mark", "hide"]}
    assert host.shared.opts.lora_manager_autocomplete is True
    _core(host)
    assert host.shared.api.routes and all(auth for _, auth in host.shared.api.routes)


def test_the_tab_is_one_gradio_blocks_with_our_mount_point(host):
    gr = pytest.importorskip("gradio")
    host.start()
    [(blocks, title, elem_id)] = host.tabs
    assert isinstance(blocks, gr.Blocks) and title == "LoRA Manager" and elem_id == "lora_manager"
    html = [b for b in blocks.blocks.values() if isinstance(b, gr.HTML)]
    assert len(html) == 1 and 'id="lm-app"' in html[0].value and 'data-mode="host"' in html[0].value
    _core(host)


def test_routes_index_and_host_list_agree(host):
    host.start()
    core = _core(host)
    with TestClient(host.app) as client:
        body = client.get(f"{P}/loras", params={"sort": "name", "state": "ok"}).json()
        ours = {e["prompt_name"] for e in body["items"]}
        assert ours == {"hosted", "extra_one"}
        assert {n for n in host.available} >= {"hosted"}  # the host resolves what we list (its own root)
        assert client.get(f"{P}/system").json()["host"]["name"] == "SDNext"
        before = host.lora_load.refreshes
        assert client.post(f"{P}/loras/hosted/move", json={"name": "renamed.v2"}).status_code == 200
        wait_for(lambda: host.lora_load.refreshes > before)
        assert "renamed_v2" in host.available and "hosted" not in host.available
    assert core.catalog.get("renamed_v2")["prompt_name"] == "renamed_v2"


def test_autocomplete_index_names_the_loaded_checkpoint_family(host):
    host.start()
    core = _core(host)
    with TestClient(host.app) as client:
        first = client.get(f"{P}/autocomplete")
        assert first.status_code == 200 and first.json()["checkpoint_family"] == "sd1"  # the stand-in's 'sd'
        assert set(first.json()["columns"]["prompt_name"]) == {"hosted", "extra_one"}
        host.shared.sd_model_type = "sdxl"  # the user switched models: the version changes with it
        r = client.get(f"{P}/autocomplete", headers={"If-None-Match": first.headers["etag"]})
        assert r.status_code == 200 and r.json()["checkpoint_family"] == "xl"
        host.shared.sd_model_type = "none"
        assert client.get(f"{P}/autocomplete").json()["checkpoint_family"] is None
    assert core.loaded_family() is None


def test_recorder_done_interrupted_and_failed_to_load(host):
    host.start()
    core = _core(host)
    host.generate("portrait <lora:hosted:0.7> <lora:ghost:1> <lora:broken:0.5>", steps=3)
    host.generate("<lora:hosted:0.4:0.2> <lora:extra_one>", steps=400, interrupt_at=5)
    assert core.recorder.flush(10)
    interrupted, done = core.analytics.list_usage()["items"]
    assert (done["outcome"], interrupted["outcome"]) == ("done", "interrupted")
    assert {x["prompt_name"]: x["status"] for x in done["loras"]} == {
        "hosted": "applied", "ghost": "not_found", "broken": "not_applied"}
    assert (done["seed"], done["steps"], done["sampler"], done["checkpoint"]) == (7, 3, "Euler", "base.safetensors")
    assert [(x["applied_te"], x["applied_unet"]) for x in interrupted["loras"]] == [(0.4, 0.2), (None, None)]
    # extra roots are ours to manage; the host applies only what its own --lora-dir holds
    assert interrupted["loras"][1]["status"] == "not_applied"


def test_a_lora_the_host_lists_but_could_not_apply_is_not_counted_as_applied(host):
    # SDNext keeps a LoRA whose weights do not fit the model in loaded_networks and only counts
    # the failure (extra_network_lora.errors), clearing it before any script's postprocess.
    write_lora(host.lora_dir / "xl_style.safetensors", family="xl", seed=5)
    host.start()
    core = _core(host)
    host.list_available_networks()
    host.generate("<lora:hosted:0.8> <lora:xl_style:0.6>", steps=2)
    assert core.recorder.flush(10)
    [event] = core.analytics.list_usage()["items"]
    assert {x["prompt_name"]: x["status"] for x in event["loras"]} == {"hosted": "applied", "xl_style": "not_applied"}
    assert [n.name for n in host.loaded_networks] == ["hosted", "xl_style"]  # as the host lists them
    assert host.lora_common.extra_network_lora.logged == [{"xl_style": 1}]  # the host still logs its errors
    # the same request again: the host reuses what is loaded and counts nothing this time
    host.generate("<lora:hosted:0.8> <lora:xl_style:0.6>", steps=2)
    assert core.recorder.flush(10)
    again = core.analytics.list_usage()["items"][0]
    assert {x["prompt_name"]: x["status"] for x in again["loras"]} == {"hosted": "applied", "xl_style": "not_applied"}
    assert host.lora_common.extra_network_lora.logged == [{"xl_style": 1}]
    host.generate("<lora:hosted:0.8>", steps=2)  # the failure does not leak into another request
    assert core.recorder.flush(10)
    latest = core.analytics.list_usage()["items"][0]
    assert [x["status"] for x in latest["loras"]] == ["applied"]


def test_recording_can_be_turned_off(host):
    host.start()
    core = _core(host)
    host.shared.opts.lora_manager_record_usage = False
    host.generate("<lora:hosted>")
    core.recorder.flush(5)
    assert core.analytics.list_usage()["total"] == 0


def test_the_hosts_setting_turns_sidecar_write_back_on(host):
    import orjson

    host.start()
    core = _core(host)
    core.catalog.edit("hosted", {"notes": "off: not written"})
    core.transfer.writer.wait()
    assert not (host.lora_dir / "hosted.json").exists()
    host.shared.opts.lora_manager_write_sidecars = True
    core.catalog.edit("hosted", {"notes": "on: written for the host's card"})
    core.transfer.writer.wait()
    written = orjson.loads((host.lora_dir / "hosted.json").read_bytes())
    assert written == {"activation text": "hostword", "notes": "on: written for the host's card"}


def test_a_job_through_the_host_with_its_queue_lock(host):
    host.start()
    core = _core(host)
    with TestClient(host.app) as client:
        r = client.post(f"{P}/jobs", json={"prompt": "a cat", "loras": [{"name": "hosted", "weight": 0.8}], "steps": 5,
                                           "add_triggers": True})
        assert r.status_code == 202
        job_id = r.json()["id"]
        wait_for(lambda: client.get(f"{P}/jobs/{job_id}").json()["status"] in ("done", "failed"))
        job = client.get(f"{P}/jobs/{job_id}").json()
        image = client.get(f"{P}/jobs/{job_id}/images/0")
        assert (
            image.status_code == 200
            and image.headers["content-type"] == "image/png"
            and image.content[:4] == b"\x89PNG"
        )
        assert client.get(f"{P}/jobs/{job_id}/images/1").status_code == 404
        assert client.get(f"{P}/jobs/nope/images/0").status_code == 404
    assert job["status"] == "done" and job["prompt"] == "a cat, hostword <lora:hosted:0.8>"
    assert host.lock_held_during == [True] and not host.queue_lock.locked()
    assert host.processed[-1].closed and [n.name for n in host.loaded_networks] == ["hosted"]
    assert os.path.exists(job["result"]["images"][0])
    core.recorder.flush(10)
    usage = core.analytics.list_usage()["items"][0]
    assert (usage["source"], usage["outcome"], usage["loras"][0]["status"]) == ("job", "done", "applied")


def test_cancelling_a_running_job_interrupts_the_host(host):
    host.step_seconds = 0.02
    host.start()
    core = _core(host)
    from lora_manager.jobs.queue import JobRequest

    job = core.jobs.submit(JobRequest(prompt="long", steps=500))
    wait_for(lambda: core.jobs.get(job.id).status == "running" and core.jobs.get(job.id).step > 0)
    core.jobs.cancel(job.id)
    wait_for(lambda: core.jobs.get(job.id).status in ("cancelled", "done", "failed"))
    assert core.jobs.get(job.id).status == "cancelled" and host.state.interrupted
    core.recorder.flush(10)
    assert core.analytics.list_usage()["items"][0]["outcome"] == "interrupted"


def test_the_host_generation_never_sees_our_errors(host, monkeypatch):
    host.start()
    core = _core(host)

    def broken(_event):
        raise RuntimeError("recorder bug")

    monkeypatch.setattr(core.recorder, "record", broken)
    p = host.generate("<lora:hosted>")
    assert p.closed is False and host.processed[-1] is p


def test_recommender_starts_with_the_host_and_knows_the_loaded_family(host):
    host.start()
    core = _core(host)
    assert core.recommender.wait_idle(30) and core.recommender.status()["model"]["state"] == "disabled"
    assert core.host_model_family() == "sd1"  # the stand-in's sd_model_type "sd"
    with TestClient(host.app) as client:
        body = client.post(f"{P}/recommendations/for-prompt", json={"prompt": "hostword portrait"}).json()
    assert (body["base"], body["base_source"]) == ("sd1", "loaded checkpoint")
    assert body["items"][0]["tag"] == "<lora:hosted:1.0>"
    host.shared.sd_model_type = "sdxl"
    assert core.host_model_family() == "xl"


def test_a_body_of_the_wrong_type_is_a_415_from_us_inside_the_host(host):
    host.start()
    _core(host)
    with TestClient(host.app, raise_server_exceptions=False) as client:
        for path in ("/jobs", "/recommendations/for-prompt", "/loras/bulk"):
            r = client.post(f"{P}{path}", files={"file": ("x.png", b"\x89PNG...", "image/png")})
            assert r.status_code == 415 and "application/json" in r.text, (path, r.status_code, r.text)
        r = client.post(f"{P}/jobs", content=b"prompt=a", headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 415


def test_a_job_naming_a_lora_the_host_cannot_find_fails_before_it_starts(host):
    host.start()
    core = _core(host)
    assert core.catalog.get("extra_one")["state"] == "ok"  # ours (an extra root), not in the host's list
    with TestClient(host.app) as client:
        r = client.post(f"{P}/jobs", json={"prompt": "a cat", "loras": [{"name": "extra_one"}, {"name": "hosted"}],
                                           "steps": 5})
        assert r.status_code == 202
        job_id = r.json()["id"]
        wait_for(lambda: client.get(f"{P}/jobs/{job_id}").json()["status"] in ("done", "failed"))
        job = client.get(f"{P}/jobs/{job_id}").json()
    assert job["status"] == "failed" and "extra_one" in job["error"] and "hosted" not in job["error"]
    assert host.processed == [] and host.lock_held_during == []  # nothing ran, the host's lock was never taken


def test_a_ui_reload_takes_over_the_running_core(host):
    """The host runs our scripts file again on a UI reload: the new adapter finds the core on the
    host's app and neither starts a second one nor mounts the routes twice."""
    host.start()
    first = _core(host)
    routes_before = len(host.app.routes)
    old_adapter = host.adapter
    host.callbacks.registered.clear()  # as the host does before it runs the scripts again
    host.reload_scripts()
    assert host.adapter is not old_adapter
    host.callbacks.fire("app_started", None, host.app)
    assert host.adapter.ready(30) is first and len(host.app.routes) == routes_before


def test_the_host_flags_set_civitai_s_address_and_key(tmp_path, monkeypatch):
    """`--lora-manager-civitai-url` and `--lora-manager-civitai-key` reach the core's settings (the key never
    its repr)."""
    monkeypatch.setenv("LORA_MANAGER_EMBED_MODEL", "off")
    h = Host(tmp_path, monkeypatch)
    h.load_extension("--lora-manager-civitai-url", "http://127.0.0.1:9/civ/", "--lora-manager-civitai-key", "k-sec")
    h.start()
    core = h.adapter.ready(30)
    try:
        assert (core.settings.civitai_url, core.settings.civitai_key) == ("http://127.0.0.1:9/civ", "k-sec")
        assert "k-sec" not in repr(core.settings)
    finally:
        core.scans.wait(30)
        core.close()
