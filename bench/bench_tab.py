"""The tab in a real browser (Chromium via Playwright) over a large library.

    python bench/make_library.py bench/libs/10k --count 10000
    python bench/bench_tab.py --lora-dir bench/libs/10k --db bench/out/lib10k.db

Starts the standalone server on the (pre-indexed) database, opens the tab and
reports: the first page (navigation start to first cards drawn, and the
script's own mount-to-cards time), searches and filters (keystroke to the
results drawn, the input debounce included), a jump deep into the list, the folder tree, tags
included and excluded and infix search (bench/bench_tab_library.py), and,
as the baseline of the same run, the plain HTTP time of the same API calls.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import httpx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.bench_tab_library import measure_library  # noqa: E402
from bench.report import emit  # noqa: E402
from lora_manager.app import build  # noqa: E402
from lora_manager.settings import Settings  # noqa: E402

P = "/lora-manager/v1"
FIELDS = ("id,name,prompt_name,alias,title,base_model,favorite,rating,previews,cover,state,size,mtime_ns,"
          "network_type,preferred_weight,triggers,hash_state")
QUERIES = ["anime", "portrait", "pixel art", "cyber", "water", "girl", "landscape", "style", "neon", "knight"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ms(client: httpx.Client, params: dict, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        client.get(P + "/loras", params={**params, "fields": FIELDS, "limit": 120}).raise_for_status()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lora-dir", required=True)
    ap.add_argument("--db", required=True, help="SQLite path or URL; indexed first when empty")
    ap.add_argument("--data-dir", default="bench/out/tab-data")
    ap.add_argument("--chromium", default=os.environ.get("LORA_MANAGER_CHROMIUM", "/usr/bin/chromium"))
    ap.add_argument("--json")
    ap.add_argument("--wait-hashes", action="store_true", help="hash every file before measuring")
    args = ap.parse_args()
    db = args.db if "://" in args.db else "sqlite:///" + os.path.abspath(args.db)
    core = build(Settings(lora_dirs=[args.lora_dir], data_dir=args.data_dir, db_url=db))
    try:
        # --wait-hashes: hashed before the server starts (hashing in the background shares the CPU with what
        # is measured, and each hash written drops the server's cached pages and counts)
        if core.catalog.counts()["ok"] == 0 or args.wait_hashes:
            core.scan(wait_hashes=args.wait_hashes)
        library = {**core.catalog.counts(), "hash_pending": core.hasher.pending_totals()[0]}
    finally:
        core.close()

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORA_MANAGER_")}
    # the recommender's first embedding build would share the CPU with what is measured here
    env.update(LORA_MANAGER_DB=db, LORA_MANAGER_WATCH_INTERVAL="0", GRADIO_ANALYTICS_ENABLED="False",
               LORA_MANAGER_EMBED_MODEL="off")
    proc = subprocess.Popen([sys.executable, "-m", "lora_manager", "serve", "--lora-dir", args.lora_dir,
                             "--data-dir", args.data_dir, "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        client = httpx.Client(base_url=base, timeout=60)
        deadline = time.monotonic() + 900  # migrations and the start-up rescan of a large library
        while True:
            try:
                if (
                    client.get(P + "/scans/last").status_code == 200
                    and client.get(P + "/scans/current").json()["running"] is False
                ):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the server did not come up")
            time.sleep(0.5)
        start = [round(x, 2) for x in os.getloadavg()]
        result = {"library": library, **measure(base, args.chromium, client)}
        # other work on the machine slows everything here alike: said beside the figures
        result["load_average"] = {"start": start, "end": [round(x, 2) for x in os.getloadavg()]}
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    emit(result, args.json)


def measure(base: str, chromium: str, client: httpx.Client) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        # the page forbids eval (its CSP); waiting on a condition string needs it in Playwright
        page = browser.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
        firsts, mounts = [], []
        for _ in range(3):  # the first load warms the server's caches and the browser's
            page.goto(base + "/lora-manager/ui/")
            page.wait_for_function("() => window.LoraManager && window.LoraManager.metrics.firstPageAt")
            firsts.append(page.evaluate("window.LoraManager.metrics.firstPageAt"))
            mounts.append(page.evaluate("window.LoraManager.metrics.firstPageMs"))
        out["first_page_ms"] = {"navigation_to_cards": round(statistics.median(firsts[1:]), 1),
                                "mount_to_cards": round(statistics.median(mounts[1:]), 1),
                                "http_first_chunk": round(http_ms(client, {}), 1)}

        def timed(action) -> float:
            page.evaluate("window.LoraManager.metrics.lastSearchMs = null")
            action()
            page.wait_for_function("() => window.LoraManager.metrics.lastSearchMs !== null")
            return page.evaluate("window.LoraManager.metrics.lastSearchMs")

        searches, http = [], []
        for q in QUERIES:
            searches.append(timed(lambda: page.fill(".lm-search", q)))
            http.append(http_ms(client, {"query": q}, runs=3))
        timed(lambda: page.fill(".lm-search", ""))
        out["search_ms"] = {"median": round(statistics.median(searches), 1), "max": round(max(searches), 1),
                            "debounce": 90, "http_median": round(statistics.median(http), 1)}
        each = {}
        for label, value in [("base model", "xl"), ("base model", "sd1"), ("base model", "f1"), ("base model", ""),
                             ("show", "favorite"), ("show", "has_preview"), ("show", "duplicate"), ("show", ""),
                             ("sort", "-modified"), ("sort", "-size"), ("sort", "name")]:
            ms = timed(lambda: page.select_option(f"select[aria-label='{label}']", value))
            each[f"{label}={value or 'all'}"] = round(ms, 1)
        filters = list(each.values())
        out["filter_ms"] = {"median": round(statistics.median(filters), 1), "max": round(max(filters), 1),
                            "http_median": round(http_ms(client, {"base": "xl"}), 1), "each": each}
        jumps = []
        first_id = ("(() => { const c = document.querySelector('.lm-window .lm-card');"
                    " return c ? c.dataset.id || '' : ''; })()")
        for frac in (0.5, 0.9, 0.25, 0.7):
            before = page.evaluate(first_id)
            t0 = time.perf_counter()
            page.evaluate(f"(() => {{ const s = document.querySelector('.lm-scroller');"
                          f" s.scrollTop = s.scrollHeight * {frac}; }})()")
            page.wait_for_function(f"""() => {{ const c = document.querySelector('.lm-window .lm-card');
                return c && c.dataset.id && c.dataset.id !== {before!r} &&
                !document.querySelector('.lm-window .lm-placeholder'); }}""")
            jumps.append((time.perf_counter() - t0) * 1000)
        out["deep_scroll_ms"] = {"median": round(statistics.median(jumps), 1), "max": round(max(jumps), 1)}
        page.evaluate("(() => { const s = document.querySelector('.lm-scroller'); s.scrollTop = 0; })()")
        out.update(measure_library(page, client))  # folder tree, tag include/exclude, infix search
        browser.close()
    return out


if __name__ == "__main__":
    main()
