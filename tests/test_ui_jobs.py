"""The Jobs panel in a real browser: a LoRA stack from the library, a job with progress
and its result image, a weight sweep, cancel, and the standalone refusal (no host)."""

from __future__ import annotations

import os

import httpx
import pytest

pytest.importorskip("gradio")
playwright_api = pytest.importorskip("playwright.sync_api")

from PIL import Image  # noqa: E402

from lora_manager.app import build  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402

from .browser import ThreadServer, fill, tab_page, wait_for  # noqa: E402
from .test_jobs import FakeRunner  # noqa: E402
from .loras import write_lora  # noqa: E402



class PictureRunner(FakeRunner):
    """The queue tests' host-less runner (progress per step, interrupt honoured), and one real
    PNG per finished job in the outputs folder, as the host runner saves them."""

    def __init__(self, outputs: str, seconds: float = 0.02):
        super().__init__(seconds)
        self.outputs = outputs
        self.jobs = []

    def run(self, job, progress):
        self.jobs.append(job)
        result = super().run(job, progress)
        if self.interrupted:
            return result
        os.makedirs(self.outputs, exist_ok=True)
        path = os.path.join(self.outputs, f"{job.id}-0.png")
        Image.new("RGB", (32, 32), (0, 120, 255)).save(path)
        return {"images": [path], "infotexts": [job.prompt], "seed": job.request.seed}


@pytest.fixture(scope="module")
def hosted(tmp_path_factory):
    root = tmp_path_factory.mktemp("jobs")
    write_lora(root / "lib" / "cat_style.safetensors", seed=1, metadata={"modelspec.trigger_phrase": "catword"})
    write_lora(root / "lib" / "dog_style.safetensors", seed=2)
    # the runner stands in for a host's pipeline: the server says jobs can run (GET /meta, /system)
    settings = Settings(lora_dirs=[str(root / "lib")], data_dir=str(root / "data"))
    core = build(settings, host={"name": "stand-in", "version": "0"})
    core.scan(wait_hashes=True)
    runner = PictureRunner(os.path.join(core.settings.data_dir, "outputs"))
    server = ThreadServer(core)
    yield server, core, runner
    server.stop()
    core.close()


@pytest.fixture
def page(browser, hosted):
    with tab_page(browser, hosted[0].base) as pg:
        yield pg


def _stack(page, name):
    page.locator(".lm-card", has_text=name).click()
    page.wait_for_selector(f".lm-detail-title:text('{name}')")
    page.click(".lm-detail button:text('Add to job')")


def test_without_a_host_the_panel_says_so(page, hosted):
    _, core, _ = hosted
    core.jobs.runner = None
    jobs = httpx.get(hosted[0].base + "/lora-manager/v1/meta", timeout=10).json().get("jobs")
    if jobs and not jobs["available"]:  # the server says so: the panel shows why, the detail offers nothing
        page.click(".lm-tab:text('Jobs')")
        page.wait_for_selector(".lm-jobs-unavailable:has-text('SDNext')")
        assert page.locator("button:text('Queue job')").is_hidden()
        return
    _stack(page, "cat_style")
    page.click(".lm-tab:text('Jobs')")
    page.fill("textarea[aria-label='job prompt']", "a cat")
    page.click("button:text('Queue job')")  # a host without its pipeline: refused, and said why
    page.wait_for_selector(".lm-jobform .lm-message.lm-error:has-text('inside SDNext')")


def test_a_job_runs_with_progress_and_shows_its_image(page, hosted):
    _, core, runner = hosted
    core.jobs.runner = runner
    _stack(page, "cat_style")
    page.click(".lm-tab:text('Jobs')")
    assert page.locator(".lm-stackitem").count() == 1
    page.fill("input[aria-label='weight of cat_style']", "0.7")
    page.dispatch_event("input[aria-label='weight of cat_style']", "change")
    page.fill("textarea[aria-label='job prompt']", "a cat on a roof")
    page.fill("input[aria-label='steps']", "10")
    page.click("button:text('Queue job')")
    page.wait_for_selector(".lm-job-done img.lm-preview")
    job = runner.jobs[-1]
    assert job.prompt == "a cat on a roof, catword <lora:cat_style:0.7>"
    assert page.locator(".lm-job-done img.lm-preview").first.evaluate("i => i.complete && i.naturalWidth") == 32


def test_a_weight_sweep_and_cancel(page, hosted):
    _, core, runner = hosted
    core.jobs.runner = runner
    runner.seconds = 0.05
    _stack(page, "dog_style")
    page.click(".lm-tab:text('Jobs')")
    page.fill("textarea[aria-label='job prompt']", "a dog")
    fill(page, "input", {"steps": "4", "sweep from": "0", "sweep to": "1", "sweep jobs": "3"})
    before = len(runner.jobs)
    page.click("button:text('Queue sweep')")
    wait_for(lambda: len(runner.jobs) - before == 3 and all(j.status == "done" for j in core.jobs._jobs.values()),
             timeout=30)
    swept = runner.jobs[before:]
    assert [j.prompt for j in swept] == [f"a dog <lora:dog_style:{w}>" for w in ("0", "0.5", "1")]
    assert len({j.request.seed for j in swept}) == 1 and swept[0].request.seed >= 0
    runner.seconds = 0.2
    page.fill("input[aria-label='steps']", "150")
    page.click("button:text('Queue job')")
    page.wait_for_selector(".lm-job-running button:text('Cancel')")
    page.click(".lm-job-running button:text('Cancel')")
    page.wait_for_selector(".lm-job-cancelled", timeout=15000)


def test_the_panel_says_when_the_shared_queues_redis_is_unreachable(browser, tmp_path):
    """A Redis URL at a closed port: the Jobs panel says in one line that jobs run on this host only."""
    pytest.importorskip("redis")
    write_lora(tmp_path / "lib" / "cat_style.safetensors", seed=1)
    core = build(Settings(lora_dirs=[str(tmp_path / "lib")], data_dir=str(tmp_path / "data"),
                          redis_url="redis://127.0.0.1:1/0"), host={"name": "stand-in", "version": "0"})
    core.scan(wait_hashes=True)
    core.jobs.runner = PictureRunner(os.path.join(core.settings.data_dir, "outputs"))
    server = ThreadServer(core)
    try:
        wait_for(lambda: core.jobs.shared_queue()["redis"] == "unreachable")
        with tab_page(browser, server.base) as pg:
            pg.click(".lm-tab:text('Jobs')")
            pg.wait_for_selector(".lm-jobs-shared[data-redis='unreachable']:has-text('this host only')")
            assert pg.locator("button:text('Queue job')").is_visible()
    finally:
        server.stop()
        core.close()
