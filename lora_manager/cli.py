"""The command line: scan, list, show, edit, bulk, move, restore, tags, serve; and each package's cli."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import Any
from collections.abc import Sequence

import orjson

from . import __version__
from .catalog import cli as catalog_cli
from .civitai.cli import add_civitai_parser, add_url_flag, cmd_civitai
from .errors import LoraManagerError
from .settings import Settings
from .storage.catalog_store import LoraQuery
from .transfer import cli as transfer_cli
from .recipes import cli as recipes_cli


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lora-dir", action="append", dest="lora_dirs", metavar="DIR", help="a library root (repeatable)")
    p.add_argument("--data-dir", help="where the database and trash live")
    p.add_argument("--db", dest="db_url", metavar="URL", help="database URL (default: SQLite in the data dir)")
    p.add_argument("--json", action="store_true", help="print JSON")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m lora_manager",
                                 description="LoRA Manager: index and manage a LoRA library.")
    ap.add_argument("--version", action="version", version=f"lora-manager {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("scan", help="index the library roots and print what changed")
    _common(p)
    p.add_argument("--demo", action="store_true", help="generate a sample library in the data dir and index it")
    p.add_argument("--wait-hashes", action="store_true", help="wait until every file is hashed")
    p.add_argument("--no-hash", action="store_true", help="do not hash now (hashing resumes on the next scan)")
    p = sub.add_parser("list", help="list entries")
    _common(p)
    p.add_argument("--query", "-q", default="", help="full-text search (prefix matching)")
    p.add_argument("--base", help="base family: sd1, sd2, xl, sd3, f1, ...")
    p.add_argument("--tag", action="append", default=[], help="with this tag, the user's or the model's (repeatable)")
    p.add_argument("--exclude-tag", action="append", default=[], help="without this tag (repeatable)")
    p.add_argument("--folder", help="this folder and below, relative to its root")
    for flag in ("favorite", "missing", "duplicate", "broken", "untagged"):
        p.add_argument(f"--{flag}", action="store_true", help=f"{flag} entries only")
    p.add_argument("--network", dest="network_type", help="LoRA, LoCon, LoHa, LoKr, DoRA, ...")
    p.add_argument("--state", choices=("ok", "broken", "unsupported", "other", "missing", "trashed"),
                   help="entries in this state only (other: files that are not LoRAs)")
    p.add_argument("--sort", default="name", help="name|added|modified|size|uses|last_used|rating|id; - descends")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--offset", type=int, default=0)
    p = sub.add_parser("show", help="one entry by id, prompt name, file name or hash")
    _common(p)
    p.add_argument("key")
    p = sub.add_parser("edit", help="edit user data: --set field=value (JSON values)")
    _common(p)
    p.add_argument("key")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", required=True)
    p = sub.add_parser("bulk", help="one action on many entries")
    _common(p)
    p.add_argument("action", help="tag|untag|favorite|unfavorite|set_base|collect|uncollect|move|restore|forget")
    p.add_argument("keys", nargs="+")
    p.add_argument("--value", help="tags (comma-separated), base family, collection name, or folder (move)")
    p = sub.add_parser("move", help="move and/or rename a LoRA with its sidecars and previews")
    _common(p)
    p.add_argument("key")
    p.add_argument("--to", dest="folder", help="folder relative to its root (or absolute, inside a root)")
    p.add_argument("--name", dest="new_name", help="new base name")
    p = sub.add_parser("restore", help="restore a LoRA from the trash")
    _common(p)
    p.add_argument("key")
    catalog_cli.add_commands(sub, _common)  # trash, forget, organize
    p = sub.add_parser("tags", help="tags with counts")
    _common(p)
    add_civitai_parser(sub, _common)
    p = sub.add_parser("serve",
                       help="run the tab, the API and its docs, scanning in the background and watching for changes")
    _common(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7870)
    p.add_argument("--api-key", help="demand this key on every route but /health (or LORA_MANAGER_API_KEY)")
    p.add_argument("--demo", action="store_true", help="generate a sample library in the data dir and serve it")
    p.add_argument("--no-ui", action="store_true", help="serve the API only, without the tab (no gradio needed)")
    p.add_argument("--allowed-host", action="append", dest="allowed_hosts", metavar="NAME",
                   help="a host name the server answers besides 127.0.0.1/localhost and --host (repeatable; * for any)")
    p.add_argument("--allow-no-key", action="store_true",
                   help="let --host listen beyond this machine without --api-key (a network you trust)")
    add_url_flag(p)
    transfer_cli.add_commands(sub, _common)  # backup, backups, restore BACKUP, export, import, sidecars
    recipes_cli.add_commands(sub, _common)  # recipes list|show|import|export
    return ap


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env(lora_dirs=args.lora_dirs, data_dir=args.data_dir, db_url=args.db_url,
                                 api_key=getattr(args, "api_key", None),
                                 allowed_hosts=getattr(args, "allowed_hosts", None),
                                 civitai_url=getattr(args, "civitai_url", None))
    if not settings.lora_dirs:
        # The roots of the last scan in this data directory, so that a plain
        # `scan` or `move` works without repeating --lora-dir every time.
        settings.lora_dirs = _remembered_roots(settings.data_dir)
    return settings


def _roots_file(data_dir: str) -> str:
    return os.path.join(data_dir, "roots.json")


def _remembered_roots(data_dir: str) -> list[str]:
    try:
        with open(_roots_file(data_dir), "rb") as f:
            roots = orjson.loads(f.read())
    except (OSError, orjson.JSONDecodeError):
        return []
    return [r for r in roots if isinstance(r, str)] if isinstance(roots, list) else []


def _remember_roots(data_dir: str, roots: list[str]) -> None:
    tmp = _roots_file(data_dir) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(orjson.dumps(roots))
    os.replace(tmp, _roots_file(data_dir))


def _print(args, data: Any, text: str) -> None:
    print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() if args.json else text)


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
    _remember_roots(app.settings.data_dir, app.settings.lora_dirs)
    # The counts as the report declares them (every int field, in its order): one list of them, not two.
    counts = {f.name: getattr(report, f.name) for f in dataclasses.fields(report) if f.type in ("int", int)}
    data = {**counts, "seconds": report.seconds, "unavailable_roots": report.unavailable_roots,
            "errors": report.errors, "roots": app.settings.lora_dirs, "hashing": app.hasher.status()}
    text = "  ".join(f"{k}: {v}" for k, v in counts.items()) + f"  ({report.seconds:.2f} s)"
    for root in report.unavailable_roots:
        text += f"\nroot not available (offline?): {root} - its entries are kept"
    _print(args, data, text)
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
    _print(args, {"total": page.total, "limit": page.limit, "offset": page.offset, "items": page.items}, text)
    return 0


def _value(v: Any) -> str:
    """Text as it is; numbers, booleans and lists as JSON (true, ["a", "b"]), never Python reprs."""
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def _filtered(args) -> bool:
    return bool(args.query or args.base or args.tag or args.folder or args.favorite or args.missing or args.duplicate
                or args.broken or args.network_type or args.state or args.exclude_tag or args.untagged)


def _detail_text(e: dict[str, Any]) -> str:
    keys = ("id", "prompt_name", "title", "alias", "path", "state", "error", "base_model", "base_label", "network_type",
            "rank", "alpha", "sha256", "autov2", "tensor_sha256", "autov3", "legacy_hash", "hash_state", "triggers",
            "tags", "favorite", "rating", "preferred_weight", "notes", "description")
    lines = [f"{k:>15}: {_value(e.get(k))}" for k in keys if e.get(k) not in (None, [], "")]
    lines += ([f"{'training_tags':>15}: " + ", ".join(t for t, _ in e["training_tags"][:15])]
              if e["training_tags"] else [])
    lines += [f"{'previews':>15}: " + ", ".join(p["name"] for p in e["previews"])] if e["previews"] else []
    lines += [f"{'sidecar':>15}: {s['name']} ({s['kind']}){' ERROR: ' + s['error'] if s.get('error') else ''}"
              for s in e["sidecars"]]
    lines += [f"{'duplicate of':>15}: {d['path']}" for d in e.get("duplicates", [])]
    return "\n".join(lines)


def cmd_show(app, args) -> int:
    e = app.catalog.get(args.key)
    _print(args, e, _detail_text(e))
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
    _print(args, e, _detail_text(e))
    return 0


def cmd_bulk(app, args) -> int:
    done = app.actions.bulk(args.keys, args.action, args.value)  # file actions skip a LoRA with the reason
    _print(args, done, "\n".join([f"{args.action}: {done['changed']} LoRA(s)", *catalog_cli.skips(done)]))
    return 0


def cmd_files(app, args) -> int:
    if args.command == "move":
        e = app.files.move(args.key, args.folder, args.new_name)
    else:
        e = getattr(app.files, args.command)(args.key)
    _print(args, e, f"{args.command}: {e['path']} ({e['state']})")
    return 0


def cmd_tags(app, args) -> int:
    tags = app.catalog.tags()
    text = ("\n".join(f"{t['count']:>6} {t['tag']}" for t in tags) if tags
            else "no tags yet (add some: edit KEY --set 'tags=[\"a\"]', or bulk tag KEY... --value a)")
    _print(args, tags, text)
    return 0


def cmd_serve(app, args) -> int:
    from .standalone.server import serve

    _remember_roots(app.settings.data_dir, app.settings.lora_dirs)
    serve(app, args.host, args.port, ui=not args.no_ui, sock=args.listener)
    return 0


COMMANDS = {"serve": cmd_serve, "scan": cmd_scan, "list": cmd_list, "show": cmd_show, "edit": cmd_edit,
            "bulk": cmd_bulk, "move": cmd_files, "restore": cmd_files, "tags": cmd_tags,
            "civitai": cmd_civitai, **transfer_cli.COMMANDS, **catalog_cli.COMMANDS,
            **recipes_cli.COMMANDS}


def _join_sort(argv: list[str]) -> list[str]:
    """`--sort -size` as `--sort=-size`: argparse would take a value starting with '-' for a flag."""
    out: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg == "--sort":
            value = next(it, None)
            out.append(arg if value is None else f"--sort={value}")
        else:
            out.append(arg)
    return out


def _bad_roots(dirs: list[str] | None) -> list[str]:
    """Messages for --lora-dir values that are not folders (checked before anything is saved)."""
    problems = []
    for d in dirs or []:
        path = os.path.abspath(os.path.expanduser(d))
        if not os.path.exists(path):
            problems.append(f"--lora-dir {d}: no such folder")
        elif not os.path.isdir(path):
            problems.append(f"--lora-dir {d}: is a file, not a folder")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:
        # `show X | head`: the reader left; end quietly (and keep Python from complaining at exit).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _main(argv: list[str]) -> int:
    args = parser().parse_args(_join_sort(argv))
    problems = _bad_roots(args.lora_dirs)
    if problems:
        for line in problems:
            print(f"error: {line}", file=sys.stderr)
        return 2
    listener = None
    if args.command == "serve":
        from .standalone.server import PortInUse, bind, keyless_refusal

        refusal = keyless_refusal(args.host, Settings.from_env(api_key=args.api_key).api_key, args.allow_no_key)
        if refusal:
            print(f"error: {refusal}", file=sys.stderr)
            return 2
        try:  # before a database, a scan or a model is touched: a taken port ends the command at once
            listener = bind(args.host, args.port)
        except PortInUse as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    try:
        return _run(args, listener)
    finally:
        if listener is not None:
            listener.close()


def _run(args, listener) -> int:
    settings = _settings(args)
    if getattr(args, "demo", False):
        from .demo.sample import demo_library

        demo = os.path.join(settings.data_dir, "demo-library")
        if not os.path.isdir(demo):
            print(f"making a sample library in {demo}", file=sys.stderr)
            demo_library(demo)
        if demo not in settings.lora_dirs:
            settings.lora_dirs = [*settings.lora_dirs, demo]
    if args.command in ("scan", "serve") and not settings.lora_dirs:
        print("no library roots: give --lora-dir DIR (repeatable), set LORA_MANAGER_LORA_DIRS, or try --demo",
              file=sys.stderr)
        return 2
    if (early := transfer_cli.before_build(args, settings)) is not None:  # backups and restore: no library needed
        return early
    from .app import build

    try:
        app = build(settings)
    except LoraManagerError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    args.listener = listener
    try:
        return COMMANDS[args.command](app, args)
    except LoraManagerError as exc:
        if args.json:
            error = {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
            sys.stdout.write(orjson.dumps(error).decode() + "\n")
        else:
            print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        app.close()
