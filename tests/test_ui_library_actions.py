"""Actions of the tab in Chromium against the real standalone server: "Keep this one" in the
Duplicates panel, Organize (a dry run listing every move, then Apply), and a preview set from a file,
from the clipboard (replacing the one there after asking) and from a finished job's image.

The routes are built on another branch: each test skips while its route is missing from the OpenAPI
schema and runs once it is merged (tests/ui17_helpers.api_lacks).
"""

from __future__ import annotations

import io
import os

import httpx
import pytest

pytest.importorskip("gradio")
pytest.importorskip("playwright.sync_api")

from PIL import Image  # noqa: E402

from lora_manager.app import build  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402

from .browser import ThreadServer, wait_for  # noqa: E402
from .ui17_helpers import P, api_lacks, card_names, library, open_tab, served_library  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with served_library(tmp_path_factory.mktemp("actions")) as ctx:
        yield ctx


def _png(color) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 24), color).save(out, "PNG")
    return out.getvalue()


def _color(path) -> tuple:
    with Image.open(path) as im:
        return im.convert("RGB").getpixel((0, 0))


def _open(page, name: str) -> None:
    page.locator(".lm-card", has_text=name).first.locator(".lm-card-name").click()
    page.wait_for_selector(f".lm-detail-title:text-is('{name}')")


@pytest.mark.skipif(api_lacks("POST", "/duplicates/resolve"), reason="POST /duplicates/resolve not in the API yet")
def test_keep_one_of_a_duplicate_group(browser, served):
    server, lib, files = served
    server.api("PATCH", "/loras/mira", json={"tags": ["red"], "favorite": True})
    server.api("PATCH", "/loras/mira_copy", json={"tags": ["blue"]})
    with open_tab(browser, server) as page:
        page.click("button[data-panel='duplicates']")
        wait_for(lambda: page.locator(".lm-dupe-group").count() == 1, timeout=30)
        page.locator(".lm-dupe", has_text="mira_copy").locator("button:text-is('Keep this one')").click()
        wait_for(lambda: page.locator(".lm-dupe-group").count() == 0, timeout=30)
        kept = server.api("GET", "/loras/mira_copy")
        assert sorted(kept["tags"]) == ["blue", "red"] and kept["favorite"] is True
        assert server.api("GET", "/loras/mira")["state"] == "trashed"
        assert "No duplicates" in page.inner_text(".lm-dupes-panel")


@pytest.mark.skipif(api_lacks("PUT", "/loras/{key}/preview"), reason="PUT /loras/{key}/preview not in the API yet")
def test_preview_from_a_file_then_replaced_from_the_clipboard(browser, served, tmp_path):
    server, lib, files = served
    target = lib / "plain.preview.png"
    assert not target.exists()
    (tmp_path / "red.png").write_bytes(_png((255, 0, 0)))
    (tmp_path / "notes.txt").write_text("not an image")
    with open_tab(browser, server) as page:
        _open(page, "plain")
        page.click(".lm-detail button:text-is('Set preview')")
        page.set_input_files(".lm-setpreview input[type=file]", str(tmp_path / "notes.txt"))
        assert "PNG, JPEG or WebP" in page.inner_text(".lm-toast")
        page.set_input_files(".lm-setpreview input[type=file]", str(tmp_path / "red.png"))
        wait_for(target.is_file, timeout=30)
        assert _color(target) == (255, 0, 0)
        page.wait_for_selector(".lm-detail button:text-is('Replace preview')")
        wait_for(lambda: page.locator(".lm-detail img.lm-preview").count() == 1, timeout=30)

        page.click(".lm-detail button:text-is('Replace preview')")
        asked: list[str] = []
        page.on("dialog", lambda d: asked.append(d.message))
        # The page waits on window.confirm until Playwright answers it, and Playwright's sync API runs the
        # dialog handlers only while the test waits on Playwright: a plain Python wait on the file (as this
        # test once did) keeps the question open and the page frozen, and the file never changes. So the
        # test waits on the page for the replacing PUT, then on the file.
        replaced = "replace=true"
        with page.expect_response(lambda r: replaced in r.url and r.request.method == "PUT", timeout=30000) as put:
            page.evaluate("""async (bytes) => {
                const file = new File([new Uint8Array(bytes)], 'pasted.png', { type: 'image/png' });
                const data = new DataTransfer();
                data.items.add(file);
                const paste = new ClipboardEvent('paste', { clipboardData: data, bubbles: true });
                document.querySelector('.lm-pastezone').dispatchEvent(paste);
            }""", list(_png((0, 255, 0))))
        assert put.value.status == 200
        wait_for(lambda: _color(target) == (0, 255, 0), timeout=30)
        assert any("Replace it?" in m for m in asked)
        # the card shows the new image, not the one the browser kept
        page.click(".lm-detail .lm-close")
        img = page.locator(".lm-card", has_text="plain").locator("img.lm-img")
        green = """i => { const c = document.createElement('canvas'); c.width = c.height = 1;
            const x = c.getContext('2d'); x.drawImage(i, 0, 0, 1, 1); return x.getImageData(0, 0, 1, 1).data[1]; }"""
        wait_for(lambda: img.evaluate(green) > 200, timeout=30)


@pytest.mark.skipif(api_lacks("POST", "/organize"), reason="POST /organize not in the API yet")
def test_organize_lists_every_move_then_applies_it(browser, served):
    server, lib, files = served
    before = sorted(p.relative_to(lib).as_posix() for p in lib.rglob("*.safetensors"))
    with open_tab(browser, server) as page:
        page.click("button[data-panel='organize']")
        page.fill(".lm-template", "{base}")
        page.click("button:text-is('Preview moves')")
        page.wait_for_selector(".lm-moves tr.lm-move")
        planned = [(r.locator("td").nth(0).inner_text(), r.locator("td").nth(1).inner_text())
                   for r in page.locator(".lm-moves tr.lm-move").all()]
        assert planned and all(src != dst for src, dst in planned)
        assert sorted(p.relative_to(lib).as_posix() for p in lib.rglob("*.safetensors")) == before  # a dry run
        page.fill(".lm-template", "{type}")  # a changed template: the plan no longer holds
        assert page.is_disabled("button:text-matches('^Apply')")
        page.fill(".lm-template", "{base}")
        page.click("button:text-is('Preview moves')")
        page.wait_for_selector("button:text-matches('^Apply \\\\(')")
        page.click("button:text-matches('^Apply')")
        wait_for(lambda: all(os.path.exists(dst) and not os.path.exists(src) for src, dst in planned), timeout=30)
        page.click("button[data-panel='library']")
        page.wait_for_selector(".lm-card:not(.lm-placeholder) .lm-card-name")  # loaded again after the moves
        assert len(card_names(page)) >= 1


@pytest.mark.skipif(api_lacks("POST", "/loras/{key}/preview/from-job"), reason="preview from a job not in the API yet")
def test_preview_picked_from_a_finished_job(browser, tmp_path):
    from .test_ui_jobs import PictureRunner

    lib = tmp_path / "lib"
    library(lib)
    core = build(Settings(lora_dirs=[str(lib)], data_dir=str(tmp_path / "data")))
    core.scan(wait_hashes=True)
    core.jobs.runner = PictureRunner(os.path.join(core.settings.data_dir, "outputs"))
    server = ThreadServer(core)
    try:
        job = httpx.post(server.base + P + "/jobs", json={"prompt": "a cat", "steps": 2}, timeout=30).json()
        wait_for(lambda: httpx.get(f"{server.base}{P}/jobs/{job['id']}").json()["status"] == "done", timeout=30)
        with open_tab(browser, server) as page:
            _open(page, "Mira")
            page.click(".lm-detail button:text-is('Set preview')")
            page.click(".lm-setpreview button:text-is('Pick from a finished job')")
            page.click(f".lm-jobimg[data-job='{job['id']}']")
            target = lib / "chars" / "mira.preview.png"
            wait_for(target.is_file, timeout=30)
            assert _color(target) == (0, 120, 255)
    finally:
        server.stop()
        core.close()
