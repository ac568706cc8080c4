"""Every panel of the tab in Simplified Chinese, in a real browser (Chromium against the standalone server): with the
browser's language set to zh-CN, each panel, a LoRA's detail, the bulk bar and a card's menu show no English word
the tab wrote. Names that stay as they are in every language (LoRA, Civitai, SDNext, txt2img, file formats, the
library's own names and paths) are allowed; every other word of three Latin letters or more is an untranslated
string. The English page shows the same panels in English (the words come from the table, not a hard-coded copy)."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("gradio")
playwright_api = pytest.importorskip("playwright.sync_api")

from .browser import settled_server, tab_page, wait_for  # noqa: E402
from .loras import write_lora  # noqa: E402

UI = "/lora-manager/ui/"
COUNT = 3

# Words that are the same in every language: product and tool names, formats, units, keys, the languages' own names.
KEPT = re.compile(
    r"ComfyUI-Lora-Manager|Civitai Helper|LoRA Manager|Hugging Face|[A-Z_]{4,}=\w+|https?://\S+|urn:air:\S*|<[^>]*>[.\w]*|\{[a-z_]+\}|/[^\s（）()]+|"
    r"\b(?:LoRAs?|Civitai|SDNext|A1111|txt2img|img2img|CFG|NSFW|SFW|PNG|JPEG|WebP|JSON|CSV|SHA-256|AutoV[23]|AIR|"
    r"MiB|MB|KB|GB|UTC|Ctrl|Shift|Enter|addnet|English|SDXL|FLUX|Hunyuan|Chroma|Cascade|Qwen|Anima|Z-Image|Etc|XXX|sqlite|postgresql)\b"
)
# The server's own messages (the API answers in English; the tab shows them after its own words).
SERVER = re.compile(r"that LoRA is not in the library now \(missing, trashed or unreadable\)")
WORD = re.compile(r"[A-Za-z]{3,}")

# What the page shows, with where it comes from: the text of visible elements that the tab wrote itself (not the
# library's names, paths and metadata), and the placeholder, title and label of visible controls, and the options of
# visible selects.
COLLECT = """(root) => {
  const DATA = '.lm-card-name, .lm-detail-title, .lm-kv td, .lm-tree-name, .lm-crumb, .lm-cell-name, .lm-chip, '
    + '.lm-dupe-path, .lm-tagline, .lm-jobprompt, .lm-recipe-prompt, .lm-recipe-title, .lm-badge, .lm-pre, '
    + '.lm-sub, .lm-tree-row, .lm-bulkfolder option, .lm-moveform option';
  const seen = [];
  const visible = (el) => el && el.checkVisibility && el.checkVisibility();
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    const text = n.textContent.trim();
    if (!text || el.closest(DATA) || el.closest('datalist')) continue;
    const shown = el.tagName === 'OPTION' ? visible(el.closest('select')) : visible(el);
    if (shown) seen.push([text, el.className || el.tagName]);
  }
  for (const el of root.querySelectorAll('[placeholder], [title], [aria-label]')) {
    if (!visible(el) || el.closest(DATA)) continue;
    for (const a of ['placeholder', 'title', 'aria-label']) {
      const v = (el.getAttribute(a) || '').trim();
      if (v) seen.push([v, `${el.className || el.tagName}@${a}`]);
    }
  }
  return seen;
}"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("i18n")
    lib = root / "lib"
    for i in range(COUNT):
        write_lora(lib / "sub" / f"k{i}.safetensors", seed=i + 1)
    with settled_server(lib, root / "data", COUNT) as server:
        yield server


def _english(pg) -> list[tuple[str, str]]:
    found = []
    for text, where in pg.evaluate(COLLECT, pg.query_selector(".lm-app")):
        rest = KEPT.sub(" ", SERVER.sub(" ", text))
        if WORD.search(rest):
            found.append((text, where))
    return found


def _settle(pg):
    """Until the page stops changing: the panels load their parts (backups, analytics, status) after they open."""
    last = [None]

    def same():
        now = pg.evaluate("document.querySelector('.lm-app').innerText")
        if now == last[0]:
            return True
        last[0] = now
        return False

    wait_for(same, step=0.4)


def _tour(pg) -> dict[str, list[tuple[str, str]]]:
    """Each panel in turn, then a LoRA's detail, the bulk bar and a card's menu: the English words each shows."""
    report: dict[str, list[tuple[str, str]]] = {}
    panels = pg.eval_on_selector_all(".lm-nav .lm-tab", "els => els.map((b) => b.dataset.panel)")
    assert len(panels) >= 9, panels
    for panel in panels:
        pg.click(f".lm-nav .lm-tab[data-panel='{panel}']")
        _settle(pg)
        report[panel] = _english(pg)
    pg.click(".lm-nav .lm-tab[data-panel='library']")
    pg.locator(".lm-card", has_text="k0").first.click()
    pg.wait_for_selector(".lm-detail .lm-actions")
    _settle(pg)
    report["detail"] = _english(pg)
    pg.locator(".lm-card .lm-check").first.click()
    pg.wait_for_selector(".lm-bulkbar:not([hidden])")
    report["bulk"] = _english(pg)
    pg.locator(".lm-card").nth(1).click(button="right")
    pg.wait_for_selector("[role='menu']")
    report["menu"] = _english(pg)
    return report


def test_every_panel_in_chinese_shows_no_english_word(browser, served):
    with tab_page(browser, served.base, UI, locale="zh-CN") as pg:
        assert pg.get_attribute(".lm-app", "lang") == "zh-CN"
        report = _tour(pg)
    untranslated = {k: v for k, v in report.items() if v}
    assert not untranslated, "\n".join(f"{k}: {text!r} ({where})" for k, v in untranslated.items() for text, where in v)


def test_the_same_tour_in_english_finds_english_words(browser, served):
    """The check above can fail: on the English page it finds the panels' words."""
    with tab_page(browser, served.base, UI, locale="en-US") as pg:
        report = _tour(pg)
    assert all(report[p] for p in report), {p: len(v) for p, v in report.items()}
    words = {text for found in report.values() for text, _ in found}
    assert {"Export events (CSV)", "Backups", "Download from Civitai", "Queue and results"} & words
