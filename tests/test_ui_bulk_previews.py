"""Preview generation for a selection, from the library's bulk bar, in a real browser: one preview job per
selected LoRA (and none for the others), the API's answer (queued, skipped with why) in a toast, "replace" for
LoRAs that have one; where jobs cannot run (the standalone server without a host) the action is not offered."""

from __future__ import annotations

import os

import httpx
import pytest

pytest.importorskip("gradio")
playwright_api = pytest.importorskip("playwright.sync_api")

from lora_manager.app import build  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402

from .browser import P, ThreadServer, tab_page, wait_for  # noqa: E402
from .loras import write_lora  # noqa: E402
from .test_ui_jobs import PictureRunner  # noqa: E402

NAMES = ("cat_style", "dog_style", "owl_style")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("bulkpreviews")
    for seed, name in enumerate(NAMES, 1):
        write_lora(root / "lib" / f"{name}.safetensors", seed=seed)
    core = build(Settings(lora_dirs=[str(root / "lib")], data_dir=str(root / "data"), embed_model="off"))
    core.scan(wait_hashes=True)
    runner = PictureRunner(os.path.join(core.settings.data_dir, "outputs"), seconds=0.001)
    server = ThreadServer(core)
    yield server, core, runner, root / "lib"
    server.stop()
    core.close()


def _select(page, *names):
    for name in names:
        page.locator(".lm-card", has_text=name).locator(".lm-check").check()
    page.wait_for_selector(f".lm-bulkcount:text('{len(names)} selected')")


def _clear_toasts(page):
    page.evaluate("() => document.querySelectorAll('.lm-toast').forEach((e) => e.remove())")


def _preview_jobs(base):
    jobs = httpx.get(base + P + "/jobs", timeout=10).json()
    return [j for j in jobs if (j.get("purpose") or {}).get("preview_for") is not None]


def test_the_bulk_bar_queues_a_preview_job_per_selected_lora(browser, served):
    server, core, runner, lib = served
    core.jobs.runner = runner
    ids = {name: core.catalog.get(name)["id"] for name in NAMES}
    with tab_page(browser, server.base) as page:
        _select(page, "cat_style", "owl_style")
        page.click(".lm-bulkbar button:text('Generate previews')")
        page.wait_for_selector(".lm-toast:has-text('2 preview job(s) queued, 0 skipped')")
        jobs = _preview_jobs(server.base)
        assert sorted(j["purpose"]["preview_for"] for j in jobs) == sorted([ids["cat_style"], ids["owl_style"]])
        assert all(j["purpose"]["replace"] is False for j in jobs)
        wait_for(lambda: all((lib / f"{n}.preview.png").exists() for n in ("cat_style", "owl_style")), timeout=30)
        wait_for(lambda: all(core.jobs.get(j["id"]).status == "done" for j in jobs), timeout=30)
        assert not (lib / "dog_style.preview.png").exists()
        # the same selection again: both have a preview now, so both are skipped and the toast says why
        _clear_toasts(page)
        page.click(".lm-bulkbar button:text('Generate previews')")
        toast = page.wait_for_selector(".lm-toast:has-text('0 preview job(s) queued, 2 skipped')")
        assert "it has a preview" in toast.inner_text()
        assert len(_preview_jobs(server.base)) == 2
        # asked to replace them: queued again, with replace
        _clear_toasts(page)
        page.check(".lm-bulkbar input[aria-label='replace their previews']")
        page.click(".lm-bulkbar button:text('Generate previews')")
        page.wait_for_selector(".lm-toast:has-text('2 preview job(s) queued, 0 skipped')")
        again = [j for j in _preview_jobs(server.base) if j["purpose"]["replace"]]
        assert sorted(j["purpose"]["preview_for"] for j in again) == sorted([ids["cat_style"], ids["owl_style"]])
        wait_for(lambda: all(core.jobs.get(j["id"]).status == "done" for j in again), timeout=30)
        # where jobs run, the detail offers the one-LoRA action too (absent without a host, below)
        page.locator(".lm-card", has_text="dog_style").click()
        page.wait_for_selector(".lm-detail button:text-is('Generate preview')")


def test_without_a_host_the_bulk_bar_offers_no_preview_generation(browser, served):
    server, core, runner, _lib = served
    core.jobs.runner = None  # the standalone server: no pipeline
    try:
        meta = httpx.get(server.base + P + "/meta", timeout=10).json()
        assert meta["jobs"]["available"] is False
        with tab_page(browser, server.base) as page:
            _select(page, "dog_style")
            page.wait_for_function("() => window.LoraManager.app.jobsKnown === true")  # GET /meta answered
            assert page.locator(".lm-bulkbar button:text('Add tag')").is_visible()
            assert page.locator(".lm-bulkbar button:text('Generate previews')").is_hidden()
            page.locator(".lm-card", has_text="dog_style").click()
            page.wait_for_selector(".lm-detail-title:text('dog_style')")
            page.wait_for_selector(".lm-detail .lm-actions")
            assert page.locator(".lm-detail button:text-is('Generate preview')").count() == 0
        # and the API says why, as the toast would
        res = httpx.post(server.base + P + "/generation/previews", json={"loras": ["dog_style"]}, timeout=10)
        assert res.status_code == 409 and res.json()["error"]["code"] == "no_host"
    finally:
        core.jobs.runner = runner
