"""The tab's folder tree, tag include/exclude filter and infix search (issue 17), measured in Chromium
by bench/bench_tab.py on the page it has open (the script's own timings: change to results drawn).

- folder tree: GET /folders and the tree drawn (the library's own folders), and the drawing alone of
  a synthetic tree of 5,000 folders (the tree draws only the rows in view);
- a folder clicked in the tree (the grid filtered to it);
- tags: one included, the same flipped to excluded, a second one excluded, all removed;
- infix search as you type: parts of words ("irl" finds "1girl"), the 90 ms debounce included.

Parts whose API is missing on the server (an older branch) are reported as skipped. The baseline of the same
run: each `GET /loras` the tab sent for a folder click or a tag step, sent again over plain HTTP once the
server's caches of pages and counts have expired (`http_alone`).
"""

from __future__ import annotations

import statistics
import time

CACHE_S = 2.1  # the server keeps pages and counts 2 s (api/list_route.py, storage/catalog_store.py)
INFIX = ["irl", "scape", "ortrai", "eon", "nime", "ight", "tyle", "ava"]
SYNTHETIC_FOLDERS = 5000


def _median(xs: list[float]) -> dict:
    return {"median": round(statistics.median(xs), 1), "max": round(max(xs), 1), "n": len(xs)} if xs else {}


def _timed(page, action, sent: list | None = None) -> float:
    """The tab's own time from `action` to the results drawn; the list request it sent is added to `sent`."""
    urls: list[str] = []

    def seen(request) -> None:
        if "/lora-manager/v1/loras?" in request.url:
            urls.append(request.url)

    page.on("request", seen)
    page.evaluate("window.LoraManager.metrics.lastSearchMs = null")
    action()
    page.wait_for_function("() => window.LoraManager.metrics.lastSearchMs !== null")
    page.remove_listener("request", seen)
    if sent is not None and urls:
        sent.append(urls[-1])
    return page.evaluate("window.LoraManager.metrics.lastSearchMs")


def _replayed(client, urls: list[str]) -> dict:
    """The same requests over plain HTTP, each after the server's caches expired: what the server alone costs."""
    times = []
    for url in urls:
        time.sleep(CACHE_S)
        t = time.perf_counter()
        client.get(url[url.index("/lora-manager/"):]).raise_for_status()
        times.append((time.perf_counter() - t) * 1000)
    return _median(times)


def _has(client, path: str, param: str | None = None) -> bool:
    schema = client.get("/openapi.json").json()
    op = schema.get("paths", {}).get("/lora-manager/v1" + path, {}).get("get")
    return op is not None and (param is None or any(p.get("name") == param for p in op.get("parameters", [])))


def measure_library(page, client) -> dict:
    out: dict = {}
    if _has(client, "/folders"):
        loads = [page.evaluate("""async () => { const t0 = performance.now();
            await window.LoraManager.app.loadFolders(); return performance.now() - t0; }""") for _ in range(5)]
        rows = page.evaluate("window.LoraManager.app.treeRows.length")
        http = []
        for _ in range(5):
            t = time.perf_counter()
            client.get("/lora-manager/v1/folders").raise_for_status()
            http.append((time.perf_counter() - t) * 1000)
        drawn = page.evaluate("""(n) => { const app = window.LoraManager.app; const folders = [];
            for (let i = 0; i < n; i++) { const p = `g${i % 50}`; folders.push({ path: i < 50 ? p : `${p}/f${i}`,
              name: i < 50 ? p : `f${i}`, parent: i < 50 ? '' : p, count: i, direct: 1 }); }
            const data = { roots: [{ root: '/synthetic', count: n, folders }] };
            const times = [];
            app.treeOpen.add('/synthetic\\n'); // the root open: its 50 folders shown
            for (let k = 0; k < 5; k++) {
              const t0 = performance.now(); app.setFolders(data); times.push(performance.now() - t0);
            }
            for (let g = 0; g < 50; g++) app.treeOpen.add(`/synthetic\\ng${g}`); // every folder shown
            const t0 = performance.now(); app.setFolders(data); const open = performance.now() - t0;
            const dom = document.querySelectorAll('.lm-tree-row').length;
            return { times, open, rows: app.treeRows.length, dom }; }""", SYNTHETIC_FOLDERS)
        page.evaluate("window.LoraManager.app.loadFolders()")
        out["folder_tree_ms"] = {"load_and_draw": _median(loads), "http_alone": _median(http), "library_rows": rows,
                                 f"draw_{SYNTHETIC_FOLDERS}_folders": _median(drawn["times"]),
                                 "draw_all_open": round(drawn["open"], 1), "rows_open": drawn["rows"],
                                 "dom_rows": drawn["dom"]}
        page.wait_for_selector(".lm-tree-row:not(.lm-tree-root)")
        clicks, sent = [], []
        names = page.eval_on_selector_all(".lm-tree-row:not(.lm-tree-root) .lm-tree-name",
                                          "els => els.slice(0, 6).map((e) => e.textContent)")
        for name in names:
            clicks.append(_timed(page, lambda n=name: page.click(f".lm-tree-row:has(.lm-tree-name:text-is('{n}'))"),
                                 sent))
        root_click = _timed(page, lambda: page.click(".lm-tree-row.lm-tree-root .lm-tree-name"))
        _timed(page, lambda: page.click(".lm-tree-all"))
        out["folder_click_ms"] = {**_median(clicks), "folders": names, "http_alone": _replayed(client, sent),
                                  "whole_root": round(root_click, 1)}
    else:
        out["folder_tree_ms"] = "skipped: GET /folders missing"
    if _has(client, "/loras", "exclude_tag"):
        tags = [t["tag"] for t in client.get("/lora-manager/v1/tags").json()[:4]]
        page.click(".lm-filterbtn")
        steps: dict[str, list[float]] = {"include": [], "flip_to_exclude": [], "exclude_second": [], "clear": []}
        sent = {k: [] for k in steps}
        for a, b in zip(tags[::2], tags[1::2], strict=False):
            page.fill("input[aria-label='filter tag']", a)
            steps["include"].append(_timed(page, lambda: page.click(".lm-filterbar button:text-is('Include')"),
                                           sent["include"]))
            steps["flip_to_exclude"].append(_timed(page, lambda: page.click(".lm-filterchips .lm-chip-flip"),
                                                   sent["flip_to_exclude"]))
            page.fill("input[aria-label='filter tag']", b)
            steps["exclude_second"].append(_timed(page, lambda: page.click(".lm-filterbar button:text-is('Exclude')"),
                                                  sent["exclude_second"]))
            steps["clear"].append(_timed(page, lambda: page.click(".lm-filterbar button:text-is('Clear filters')"),
                                         sent["clear"]))
        out["tag_filter_ms"] = {k: {**_median(v), "http_alone": _replayed(client, sent[k])} for k, v in steps.items()}
        out["tag_filter_ms"]["tags"] = tags
    else:
        out["tag_filter_ms"] = "skipped: exclude_tag= missing"
    infix, sent = [], []
    for q in INFIX:
        infix.append(_timed(page, lambda q=q: page.fill(".lm-search", q), sent))
    _timed(page, lambda: page.fill(".lm-search", ""))
    out["infix_search_ms"] = {**_median(infix), "debounce": 90, "http_alone": _replayed(client, sent)}
    return out
