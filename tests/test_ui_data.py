"""The Data panel in a real browser: back up, restore after a dry run, download an export, import an
archive (dry run first, then for real), and read another tool's sidecar."""

from __future__ import annotations

import orjson
import pytest

pytest.importorskip("gradio")
playwright_api = pytest.importorskip("playwright.sync_api")

from .browser import ThreadServer, tab_page  # noqa: E402
from .transfer_helpers import fill, open_app, write_library  # noqa: E402

UI = "/lora-manager/ui/"


@pytest.fixture(scope="module")
def hosted(tmp_path_factory):
    root = tmp_path_factory.mktemp("data-panel")
    write_library(root / "lib")
    core = open_app(root / "lib", root / "data", f"sqlite:///{root}/library.db")
    fill(core)
    server = ThreadServer(core)
    yield server, core, root
    server.stop()
    core.close()


@pytest.fixture
def page(browser, hosted):
    with tab_page(browser, hosted[0].base, UI, accept_downloads=True) as pg:
        pg.click(".lm-tab:text('Data')")
        yield pg


def test_back_up_then_restore_after_its_dry_run(page, hosted):
    _, core, _ = hosted
    page.click("button:text('Back up now')")
    page.wait_for_selector(".lm-backups tbody tr")
    name = page.locator(".lm-backups tbody tr").first.get_attribute("data-name")
    assert name in {b["name"] for b in core.transfer.backups.list()}
    core.catalog.edit("alice", {"notes": "after the backup"})
    page.locator(".lm-backups tbody tr").first.locator("button:text('Restore…')").click()
    page.wait_for_selector(".lm-data-panel .lm-message:has-text('will be kept as')")
    assert core.catalog.get("alice")["notes"] == "after the backup"  # the dry run changed nothing
    page.click("button:text('Restore now')")
    page.wait_for_selector(".lm-data-panel .lm-message:has-text('Restored')")
    assert core.catalog.get("alice")["notes"] == "my best"


def test_export_download_and_import_with_a_dry_run_first(page, hosted, tmp_path):
    _, core, _ = hosted
    with page.expect_download() as info:
        page.click("button:text('Download export')")
    archive = tmp_path / "export.zip"
    info.value.save_as(archive)
    assert archive.stat().st_size > 0
    core.catalog.edit("bob", {"rating": None, "tags": []})
    page.set_input_files("input[aria-label='archive to import']", str(archive))
    page.locator(".lm-data-panel button:text('Check (dry run)')").first.click()
    page.wait_for_selector(".lm-report .lm-message:has-text('Dry run')")
    assert page.locator(".lm-report li.lm-report-updated").count() == 1
    assert core.catalog.get("bob")["rating"] is None
    page.locator(".lm-data-panel button:text('Import now')").first.click()
    page.wait_for_selector(".lm-report .lm-message:has-text('Written')")
    assert core.catalog.get("bob")["rating"] == 4 and core.catalog.get("bob")["tags"] == ["style"]


def test_another_tools_sidecar(page, hosted):
    _, core, root = hosted
    (root / "lib" / "carol.json").write_bytes(orjson.dumps({"activation text": "carol, green", "notes": "from A1111"}))
    page.select_option("select[aria-label='other tool']", "sdnext")
    page.locator(".lm-data-panel button:text('Check (dry run)')").nth(1).click()
    page.wait_for_selector(".lm-report li.lm-report-added")
    assert core.catalog.get("carol")["notes"] is None
    page.locator(".lm-data-panel button:text('Import now')").nth(1).click()
    page.wait_for_selector(".lm-report .lm-message:has-text('Written')")
    assert core.catalog.get("carol")["notes"] == "from A1111"


def test_an_archive_that_only_brings_a_recipe(page, hosted, tmp_path):
    _, core, _ = hosted
    made = core.recipes.create({"title": "Panel recipe", "prompt": "a lighthouse", "loras": [{"name": "alice"}]})
    archive = str(tmp_path / "recipes.zip")
    core.transfer.export(archive, ["recipes"])
    core.recipes.delete(made["id"])
    page.set_input_files("input[aria-label='archive to import']", archive)
    page.locator(".lm-data-panel button:text('Check (dry run)')").first.click()
    page.wait_for_selector(".lm-report div:has-text('recipes: 1 new')")
    assert page.locator(".lm-report div:has-text('1 found by hash')").count() >= 1
    assert core.recipes.list()["total"] == 0
    page.locator(".lm-data-panel button:text('Import now')").first.click()  # offered: only a recipe changes
    page.wait_for_selector(".lm-report .lm-message:has-text('Written')")
    assert [r["title"] for r in core.recipes.list()["items"]] == ["Panel recipe"]
