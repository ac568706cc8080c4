"""The Analytics panel in a real browser over recorded generations: totals, the
timeline chart, most/never used (opening a LoRA's detail), pairs, trigger words,
failures, and the CSV export."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

pytest.importorskip("gradio")
pytest.importorskip("playwright.sync_api")

from lora_manager.app import build  # noqa: E402
from lora_manager.usage.recorder import GenerationEvent  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402

from .browser import ThreadServer, tab_page  # noqa: E402
from .loras import write_lora  # noqa: E402

NOW = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("analytics")
    write_lora(root / "lib" / "cat.safetensors", seed=1, metadata={"modelspec.trigger_phrase": "catword"})
    write_lora(root / "lib" / "dog.safetensors", seed=2)
    write_lora(root / "lib" / "never.safetensors", seed=3, rank=8)
    core = build(Settings(lora_dirs=[str(root / "lib")], data_dir=str(root / "data")))
    core.scan(wait_hashes=True)
    for i in range(6):
        start = NOW - timedelta(days=i, hours=1)
        outcome = "failed" if i == 1 else ("interrupted" if i == 2 else "done")
        applied = [{"name": "cat", "te": 0.8, "unet": 0.8}] + (
            [{"name": "dog", "te": 0.5, "unet": 0.5}] if i % 2 == 0 else []
        )
        core.recorder.record(GenerationEvent.from_prompt(
            "a catword <lora:cat:0.8>" + (" <lora:dog:0.5>" if i % 2 == 0 else "") + " <lora:ghost:1>",
            started_at=start, finished_at=start + timedelta(seconds=4), outcome=outcome, checkpoint="m.safetensors",
            checkpoint_family="sd1", seed=i, steps=20, width=512, height=512, sampler="Euler", source="ui",
            applied=applied))
    assert core.recorder.flush(10)
    server = ThreadServer(core)
    yield server, core
    server.stop()
    core.close()


@pytest.fixture
def page(browser, recorded):
    with tab_page(browser, recorded[0].base, height=1000, accept_downloads=True) as pg:
        yield pg


def test_the_dashboard_shows_what_was_recorded(page):
    page.click(".lm-tab:text('Analytics')")
    page.wait_for_selector(".lm-tile")
    tiles = dict(zip(page.locator(".lm-tile-label").all_inner_texts(), page.locator(".lm-tile-value").all_inner_texts(),
                     strict=False))
    assert (
        tiles["generations"] == "6" and tiles["done"] == "4" and tiles["failed"] == "1" and tiles["interrupted"] == "1"
    )
    assert tiles["never used"].startswith("1 ·")
    assert page.locator(".lm-chart rect").count() >= 6
    most = page.locator(".lm-acard:has(h4:text('Most used')) .lm-barrow")
    assert (
        most.first.locator(".lm-barlabel").inner_text() == "cat"
        and most.first.locator(".lm-barvalue").inner_text() == "6 uses"
    )
    assert "never" in page.locator(".lm-acard:has(h4:text-matches('Never used')) td").all_inner_texts()
    pairs = page.locator(".lm-acard:has(h4:text('Used together')) td").all_inner_texts()
    assert pairs[:3] in (["cat", "dog", "3"], ["dog", "cat", "3"])
    assert "catword" in page.locator(".lm-acard:has(h4:text('Trigger words used')) .lm-barlabel").all_inner_texts()
    failures = page.locator(".lm-acard:has(h4:text('LoRA failures by cause'))").inner_text()
    assert "not found" in failures
    page.select_option("select[aria-label='range']", "7")
    page.wait_for_function("() => window.LoraManager.metrics.analyticsMs > 0")
    most.first.locator("a").click()
    page.wait_for_selector(".lm-detail-title:text('cat')")
    page.wait_for_selector(".lm-usage table")
    usage = dict(zip(page.locator(".lm-usage th").all_inner_texts(), page.locator(".lm-usage td").all_inner_texts(),
                     strict=False))
    assert usage["Uses (applied)"] == "6" and "failed 1" in usage["Outcomes"] and "interrupted 1" in usage["Outcomes"]
    assert page.locator(".lm-usage .lm-barlabel").all_inner_texts()[:1] == ["0.8"]


def test_events_export_as_csv(page):
    page.click(".lm-tab:text('Analytics')")
    page.wait_for_selector(".lm-tile")
    with page.expect_download() as info:
        page.click("button:text('Export events (CSV)')")
    text = open(info.value.path(), encoding="utf-8").read()
    lines = text.strip().splitlines()
    assert len(lines) >= 7 and "cat" in text
