"""`lora-manager civitai fetch KEY... | --all [--refresh] [--json]`: Civitai's records, in the foreground.

Registered by lora_manager/cli.py; light to import (the client loads when a fetch starts).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import orjson

from .cli_downloads import add_commands as add_download_commands, run as run_downloads


def add_civitai_parser(sub, common) -> None:
    p = sub.add_parser("civitai", help="Civitai: metadata by hash, newer versions, downloads (docs/civitai.md)")
    inner = p.add_subparsers(dest="civitai_command", required=True)
    f = inner.add_parser("fetch", help="look LoRAs up on Civitai by hash: record, .civitai.info sidecar, preview")
    common(f)
    f.add_argument("keys", nargs="*", metavar="KEY", help="LoRAs by id, prompt name, file name or hash")
    f.add_argument("--all", action="store_true", dest="all_missing",
                   help="every hashed LoRA without a record (resumes where a stopped run ended)")
    f.add_argument("--refresh", action="store_true",
                   help="ask again about LoRAs that have a record (a recent 'not found' only when named)")
    add_url_flag(f)
    for d in add_download_commands(inner, common):  # updates, download (civitai/cli_downloads.py)
        add_url_flag(d)


def add_url_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--civitai-url", metavar="URL", help="Civitai's address (or LORA_MANAGER_CIVITAI_URL)")


def cmd_civitai(app, args) -> int:
    if args.civitai_command != "fetch":
        return run_downloads(app, args)
    if bool(args.keys) == bool(args.all_missing):
        print("error: give LoRA keys, or --all (not both)", file=sys.stderr)
        return 2
    ids = app.civitai.resolve(args.keys) if args.keys else None
    _wait_for_hashes(app, quiet=args.json)
    tick, close = _bar(sys.stderr.isatty() and not args.json)
    try:
        report = app.civitai.run(ids, all_missing=args.all_missing, refresh=args.refresh, on_outcome=tick)
    except KeyboardInterrupt:
        close()
        print("stopped: what was found is kept; run the same command again to go on", file=sys.stderr)
        return 130
    close()
    if args.json:
        sys.stdout.write(orjson.dumps(_document(report), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(_text(report))
    return 1 if report["failed"] else 0


def _wait_for_hashes(app, quiet: bool) -> None:
    """Records are found by hash: hash what is pending first (a no-op when everything is hashed)."""
    app.hasher.wake()
    if not app.hasher.wait(0.5) and not quiet:
        print("hashing the files that are not hashed yet...", file=sys.stderr)
    app.hasher.wait()


def _bar(enabled: bool):
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(unit="LoRA", desc="civitai", file=sys.stderr, leave=False)

    def tick(_out: dict[str, Any]) -> None:
        bar.update(1)

    return tick, bar.close


def _document(report: dict[str, Any]) -> dict[str, Any]:
    keys = ("status", "stopped_reason", "done", "found", "not_found", "failed", "requests", "retries")
    return {**{k: report.get(k) for k in keys}, "results": report["results"]}


def _text(report: dict[str, Any]) -> str:
    lines = []
    for r in report["results"]:
        name = os.path.basename(r["path"]) if r["path"] else f"#{r['id']}"
        if r["outcome"] == "found":
            files = ", ".join(f"{k} {v}" for k, v in (("sidecar", r["sidecar"]), ("preview", r["preview"])) if v)
            note = f"version {r['version_id']} of model {r['model_id']}" + (" (known)" if r["cached"] else "")
            lines.append(f"found      {name}: {note}" + (f"; {files}" if files else ""))
        else:
            lines.append(f"{r['outcome']:<10} {name}: {r['reason']}")
    summary = (f"{report['found']} found, {report['not_found']} not on Civitai, {report['failed']} failed; "
               f"{report['requests']} request(s) to Civitai")
    if report.get("stopped_reason"):
        summary += f"; stopped: {report['stopped_reason']} (run again to go on)"
    return (
        "\n".join([*lines, summary])
        if lines
        else "nothing to ask Civitai about: every hashed LoRA has a record\n" + summary
    )
