"""The library's commands: scan, list, show, edit, bulk, move, restore (a LoRA), tags."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import orjson

from ..catalog import cli as catalog_cli
from ..storage.catalog_store import LoraQuery
from .output import emit, value_text
from .roots import remember_roots


def _line(e: dict[str, Any]) -> str:
    base = e["base_model"] or "?"
    flags = "".join(f for f, on in (("*", e["favorite"]), ("!", e["state"] != "ok")) if on)
    trig = ", ".join(e["triggers"][:3])
    return (f"{e['id']:>6} {flags:<2} <lora:{e['prompt_name']}> [{base}] {e['network_type'] or ''} "
            f"{e['state'] if e['state'] != 'ok' else ''} {trig}").rstrip()


def _progress_bar(enabled: bool):
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="file", file=sys.stderr, leave=False)
        bar.total = total
        bar.n = done
        bar.refresh()

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return update, close


def cmd_scan(app, args) -> int:
    tty = sys.stderr.isatty() and not args.json
    progress, close = _progress_bar(tty)
    hash_tick, hash_close = _hash_bar(app, tty and args.wait_hashes)
    try:
        report = app.scan(progress, hash_after=not args.no_hash, wait_hashes=args.wait_hashes, wait_hook=hash_tick)
    finally:
        # Every bar is gone and stderr flushed before the summary, so that it prints on a line of its own.
        close()
        hash_close()
        sys.stderr.flush()
    remember_roots(app.settings.data_dir, app.settings.lora_dirs)
    # The counts as the report declares them (every int field, in its order): one list of them, not two.
    counts = {f.name: getattr(report, f.name) for f in dataclasses.fields(report) if f.type in ("int", int)}
    data = {**counts, "seconds": report.seconds, "unavailable_roots": report.unavailable_roots,
            "errors": report.errors, "roots": app.settings.lora_dirs, "hashing": app.hasher.status()}
    text = "  ".join(f"{k}: {v}" for k, v in counts.items()) + f"  ({report.seconds:.2f} s)"
    for root in report.unavailable_roots:
        text += f"\nroot not available (offline?): {root} - its entries are kept"
    emit(args, data, text)
    return 0


def _hash_bar(app, enabled: bool):
    """A progress bar for --wait-hashes, updated by App.scan while it waits; (tick, close)."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=None, unit="B", unit_scale=True, desc="hash", file=sys.stderr, leave=False)

    def tick() -> None:
        bar.total = app.hasher.queued_bytes
        bar.n = app.hasher.done_bytes
        bar.refresh()

    return tick, bar.close


def cmd_list(app, args) -> int:
    q = LoraQuery(query=args.query, base=args.base, tags=args.tag, folder=args.folder, exclude_tags=args.exclude_tag,
                  favorite=True if args.favorite else None, untagged=True if args.untagged else None,
                  missing=True if args.missing else None, duplicate=True if args.duplicate else None,
                  broken=True if args.broken else None, network_type=args.network_type, state=args.state,
                  sort=args.sort, limit=args.limit, offset=args.offset)
    page = app.catalog.list(q)
    if page.items:
        text = "\n".join(_line(e) for e in page.items) + f"\n({len(page.items)} of {page.total})"
    elif page.total:
        text = f"no LoRAs on this page (offset {args.offset} of {page.total})"
    else:
        text = "no LoRAs match" if _filtered(args) else "the library is empty: run `scan --lora-dir DIR` first"
    emit(args, {"total": page.total, "limit": page.limit, "offset": page.offset, "items": page.items}, text)
    return 0


def _filtered(args) -> bool:
    return bool(args.query or args.base or args.tag or args.folder or args.favorite or args.missing or args.duplicate
                or args.broken or args.network_type or args.state or args.exclude_tag or args.untagged)


def _detail_text(e: dict[str, Any]) -> str:
    keys = ("id", "prompt_name", "title", "alias", "path", "state", "error", "base_model", "base_label", "network_type",
            "rank", "alpha", "sha256", "autov2", "tensor_sha256", "autov3", "legacy_hash", "hash_state", "triggers",
            "tags", "favorite", "rating", "preferred_weight", "notes", "description")
    lines = [f"{k:>15}: {value_text(e.get(k))}" for k in keys if e.get(k) not in (None, [], "")]
    lines += ([f"{'training_tags':>15}: " + ", ".join(t for t, _ in e["training_tags"][:15])]
              if e["training_tags"] else [])
    lines += [f"{'previews':>15}: " + ", ".join(p["name"] for p in e["previews"])] if e["previews"] else []
    lines += [f"{'sidecar':>15}: {s['name']} ({s['kind']}){' ERROR: ' + s['error'] if s.get('error') else ''}"
              for s in e["sidecars"]]
    lines += [f"{'duplicate of':>15}: {d['path']}" for d in e.get("duplicates", [])]
    return "\n".join(lines)


def cmd_show(app, args) -> int:
    e = app.catalog.get(args.key)
    emit(args, e, _detail_text(e))
    return 0


def cmd_edit(app, args) -> int:
    fields: dict[str, Any] = {}
    for item in args.set:
        name, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"--set needs FIELD=VALUE, got {item!r}")
        try:
            fields[name.strip()] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            fields[name.strip()] = raw  # plain text, e.g. notes=hello
    e = app.catalog.edit(args.key, fields)
    emit(args, e, _detail_text(e))
    return 0


def cmd_bulk(app, args) -> int:
    done = app.actions.bulk(args.keys, args.action, args.value)  # file actions skip a LoRA with the reason
    emit(args, done, "\n".join([f"{args.action}: {done['changed']} LoRA(s)", *catalog_cli.skips(done)]))
    return 0


def cmd_files(app, args) -> int:
    if args.command == "move":
        e = app.files.move(args.key, args.folder, args.new_name)
    else:
        e = getattr(app.files, args.command)(args.key)
    emit(args, e, f"{args.command}: {e['path']} ({e['state']})")
    return 0


def cmd_tags(app, args) -> int:
    tags = app.catalog.tags()
    text = ("\n".join(f"{t['count']:>6} {t['tag']}" for t in tags) if tags
            else "no tags yet (add some: edit KEY --set 'tags=[\"a\"]', or bulk tag KEY... --value a)")
    emit(args, tags, text)
    return 0

