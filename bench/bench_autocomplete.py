"""Prompt autocomplete at scale: the index payload and each keystroke, measured in the browser.

    python bench/bench_autocomplete.py --count 100000 [--json out.json]

1. Fills a fresh SQLite index with COUNT realistic rows (names, titles, trigger
   words, tags from lora_manager.demo.library's vocabulary; some user tags,
   preferred weights and usage), written straight through the stores:
   scanning 100k files is measured by the other benches, not needed here.
2. Builds the index the route serves (server-side time, raw and gzip size).
3. Opens headless Chromium (LORA_MANAGER_CHROMIUM or /usr/bin/chromium) on a
   page shaped like the host's, hands it that payload through Playwright's
   request routing, and times: loading and preparing the index, `search()`
   for every prefix of many typed words (what the matcher costs per
   keystroke), and whole keystrokes (an `input` event on the prompt box:
   context, search and rendering the list).
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lora_manager.app import build  # noqa: E402
from lora_manager.library.basemodel import FAMILIES  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402
from lora_manager.storage.rollups import TOT  # noqa: E402
from lora_manager.demo.words import make_concept  # noqa: E402
from report import emit  # noqa: E402  (bench/report.py, beside this script)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORIGIN = "http://bench.invalid"


def fill(core, count: int, seed: int = 0) -> list[str]:
    """COUNT rows in the index; returns words a person might type (names, triggers, tags)."""
    rng = random.Random(seed)
    families = [f for f in FAMILIES if f in ("sd1", "xl", "f1", "sd3", "sd2")]
    rows, typed = [], []
    now = datetime.now(timezone.utc)
    for i in range(count):
        c = make_concept(rng)
        stem = (f"{c.slug}_v{rng.randrange(1, 9)}" if rng.random() < 0.5
                else f"{c.slug}{'-' + str(i) if rng.random() < 0.3 else ''}")
        stem = stem[:80] or f"lora_{i}"
        file_name = f"{stem}.safetensors"
        has_preview = rng.random() < 0.7
        rows.append({
            "path": f"/lib/{c.kind}/{i:06d}/{file_name}", "root": "/lib", "folder": f"{c.kind}/{i:06d}",
            "file_name": file_name, "prompt_name": stem.replace(".", "_"), "ext": ".safetensors",
            "size": rng.randrange(10, 400) << 20, "mtime_ns": i, "state": "ok",
            "title": c.name if rng.random() < 0.6 else None, "alias": c.slug if rng.random() < 0.3 else None,
            "base_family": rng.choice(families) if rng.random() < 0.95 else None,
            "triggers": c.triggers, "source_tags": c.tags[:rng.randrange(0, 7)], "training_tags": [], "meta": {},
            "sidecars": [],
            "previews": ([{"name": f"{stem}.preview.png", "kind": "image", "convention": "preview"}]
                         if has_preview else []),
            "preview_count": int(has_preview),
            "suggested": {"preferred_weight": rng.choice((0.6, 0.7, 0.8, 1.0))} if rng.random() < 0.4 else {},
        })
        if rng.random() < 0.02:
            typed.extend([c.name.split(" ")[0], c.triggers[0], c.tags[0].replace("_", " ")])
    core.scanner.scan_store.insert_files(rows)
    with core.db.engine.begin() as conn:  # usage for 5%: the rollup the recorder keeps
        used = {rows[i - 1]["prompt_name"]: i for i in rng.sample(range(1, count + 1), count // 20)}  # keyed by name
        conn.execute(TOT.insert(), [{"prompt_name": name, "lora_id": i, "uses": rng.randrange(1, 500), "requests": 1,
                                     "last_used": now - timedelta(hours=rng.randrange(1, 24 * 400))}
                                    for name, i in used.items()])
    typed = random.Random(seed).sample(typed, min(len(typed), 300))
    return typed + ["<lora:", "a", "girl", "style", "xl", "by", "neon", "portrait", "zz", "qx"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def figures(ms: list[float]) -> dict:
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 3), "p95_ms": round(pct(ms, 95), 3),
            "max_ms": round(max(ms), 3)}


PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/lora-manager/assets/style.css">
<script>var opts = {}; function gradioApp() { return document; }</script>
<script defer src="/lora-manager/assets/lora_manager_autocomplete.js"></script>
<script defer src="/lora-manager/assets/lora_manager_autocomplete_caret.js"></script>
<script defer src="/lora-manager/assets/lora_manager_autocomplete_index.js"></script></head>
<body><div id="txt2img_prompt"><label><textarea rows="4" cols="80"></textarea></label></div></body></html>"""


def in_browser(body: bytes, version: str, typed: list[str]) -> dict:
    from playwright.sync_api import sync_playwright

    assets = {name: ("text/javascript", os.path.join(ROOT, "javascript", name))
              for name in ("lora_manager_autocomplete.js", "lora_manager_autocomplete_caret.js",
                           "lora_manager_autocomplete_index.js")}
    assets["style.css"] = ("text/css", os.path.join(ROOT, "style.css"))

    def route(r):
        path = r.request.url[len(ORIGIN):].split("?")[0]
        if path == "/host.html":
            return r.fulfill(status=200, content_type="text/html", body=PAGE)
        if path.startswith("/lora-manager/assets/") and path.rsplit("/", 1)[1] in assets:
            mime, file = assets[path.rsplit("/", 1)[1]]
            with open(file, "rb") as f:
                return r.fulfill(status=200, content_type=mime, body=f.read())
        if path == "/lora-manager/v1/autocomplete":
            return r.fulfill(status=200, content_type="application/json", body=body, headers={"ETag": f'"{version}"'})
        return r.fulfill(status=404, body=b"")

    path = os.environ.get("LORA_MANAGER_CHROMIUM") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True)
        page = browser.new_page()
        page.route(f"{ORIGIN}/**", route)
        page.goto(f"{ORIGIN}/host.html")
        load_ms = page.evaluate("""async () => { const t = performance.now();
                                   await window.loraManagerAutocomplete.load(); return performance.now() - t; }""")
        prepare_ms = page.evaluate("window.loraManagerAutocomplete.state.index.prepareMs")
        heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : null")
        # the matcher alone, every prefix of every word (one keystroke each), after one warm-up round
        search_ms = page.evaluate("""words => { const ac = window.loraManagerAutocomplete, out = [];
            for (const w of words) for (let i = 1; i <= w.length; i++) ac.search(w.slice(0, i));
            for (const w of words) for (let i = 1; i <= w.length; i++) {
                const t = performance.now(); ac.search(w.slice(0, i)); out.push(performance.now() - t); }
            return out; }""", typed)
        # whole keystrokes: an input event on the prompt box (context, search, list rendered), synchronous
        keystroke_ms = page.evaluate("""words => {
            const ta = document.querySelector('#txt2img_prompt textarea'), out = [];
            const parts = window.__parts = [];
            ta.focus();
            for (const w of words) { ta.value = 'masterpiece, '; for (let i = 1; i <= w.length; i++) {
                ta.value = 'masterpiece, ' + w.slice(0, i); ta.setSelectionRange(ta.value.length, ta.value.length);
                const t = performance.now(); ta.dispatchEvent(new Event('input', {bubbles: true}));
                out.push(performance.now() - t);
                parts.push(window.loraManagerAutocomplete.state.lastUpdate); } }
            window.loraManagerAutocomplete.close(); return out; }""", typed)
        parts = page.evaluate("window.__parts")
        browser.close()
    return {"load_and_prepare_ms": round(load_ms, 1), "prepare_ms": round(prepare_ms, 1),
            "js_heap_mb": round(heap / 2**20, 1) if heap else None,
            "search": figures(search_ms), "keystroke": figures(keystroke_ms),
            "keystroke_parts": {k: figures([p[k] for p in parts if p]) for k in ("search", "caret", "render", "place")}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        core = build(Settings(lora_dirs=[os.path.join(tmp, "lib")], data_dir=os.path.join(tmp, "data"),
                              db_url=f"sqlite:///{tmp}/bench.db"))
        try:
            t = time.perf_counter()
            typed = fill(core, args.count, args.seed)
            fill_s = time.perf_counter() - t
            t = time.perf_counter()
            index = core.autocomplete.current()
            build_ms = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            core.autocomplete.current()
            cached_ms = (time.perf_counter() - t) * 1000
        finally:
            core.close()
    body = index.body
    result = {
        "count": index.count,
        "fill_s": round(fill_s, 1),
        "server": {"build_ms": round(build_ms, 1), "cached_ms": round(cached_ms, 2)},
        "payload": {"raw_mb": round(len(body) / 1e6, 2), "gzip5_mb": round(len(gzip.compress(body, 5)) / 1e6, 2),
                    "bytes_per_lora_raw": round(len(body) / max(1, index.count), 1)},
        "typed_words": len(typed),
        "browser": in_browser(body, index.version, typed),
    }
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
