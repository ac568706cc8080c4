"""Command line of backups, restore, export, import and sidecars (registered by lora_manager/cli.py).

`backup`, `backups` and `restore BACKUP` run without opening the library: a damaged database can be
restored. `restore KEY` (a LoRA from the trash) stays the file command: a backup is told apart by
its name (`.db`, `.pg.zip`, `.sqlite`, `.sqlite3`, `.bak`) or by a path to an existing file.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import orjson

from ..errors import LoraManagerError

BACKUP_ENDINGS = (".db", ".pg.zip", ".sqlite", ".sqlite3", ".bak")
LORA_ENDINGS = (".safetensors", ".pt", ".ckpt")
PARTS_HELP = "userdata,collections,recipes,usage,settings (default: all)"


def add_commands(sub, common) -> None:
    p = sub.add_parser("backup", help="back up the database now (SQLite: one file; PostgreSQL: a dump of our tables)")
    common(p)
    p.add_argument("--to", metavar="DIR", help="into this folder instead of the backup folder (never pruned)")
    p = sub.add_parser("backups", help="list the backups, newest first")
    common(p)
    sub.choices["restore"].add_argument("--dry-run", action="store_true",
                                        help="with a BACKUP: say what would be restored and kept; change nothing")
    sub.choices["restore"].description = ("restore KEY: a LoRA from the trash; restore BACKUP: the database from a "
                                          "backup (the current database is backed up first)")
    p = sub.add_parser("export", help="write user data, collections, usage and settings to one archive (zip)")
    common(p)
    p.add_argument("file")
    p.add_argument("--what", default="", help=PARTS_HELP)
    p.add_argument("--include-previews", action="store_true", help="also the preview images and videos")
    p = sub.add_parser("import", help="import an archive from `export`, or the sidecars other tools wrote")
    common(p)
    p.add_argument("file", nargs="?")
    p.add_argument("--from", dest="source", choices=("sdnext", "lm", "civitai-helper"),
                   help="read that tool's files beside the LoRAs instead of an archive")
    p.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
    p.add_argument("--on-conflict", choices=("keep", "theirs", "merge"), default="keep",
                   help="where both sides have a value: keep ours (default), take theirs, or merge lists")
    p = sub.add_parser("sidecars", help="write our user data into the SDNext/A1111 <base>.json of every LoRA")
    common(p)
    p.add_argument("action", choices=("write",))
    p.add_argument("--dry-run", action="store_true", help="count what would be written; write nothing")


def is_backup_ref(key: str) -> bool:
    low = key.lower()
    if low.endswith(LORA_ENDINGS):
        return False
    return low.endswith(BACKUP_ENDINGS) or (("/" in key or os.sep in key) and os.path.isfile(key))


def _out(args, data: Any, text: str) -> None:
    if args.json:
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(text)


def _size(n: int | None) -> str:
    return "?" if n is None else f"{n / 1048576:.1f} MiB"


def before_build(args: argparse.Namespace, settings) -> int | None:
    """Commands that must not open the library first; None for every other command."""
    if args.command not in ("backup", "backups") and not (args.command == "restore" and is_backup_ref(args.key)):
        if args.command == "restore" and args.dry_run:
            print("error: --dry-run is for restoring a backup (a name ending .db or .pg.zip, or a path)",
                  file=sys.stderr)
            return 2
        return None
    from .backups import Backups

    backups = Backups(settings.db_url, settings.backup_dir, settings.backup_keep)
    try:
        if args.command == "backup":
            b = backups.create("manual", to=args.to)
            _out(args, b, f"backup taken: {b['path']} ({_size(b['size'])}, {b['counts'].get('loras', 0)} LoRAs)")
        elif args.command == "backups":
            items = backups.list()
            lines = [
                f"{b['created'][:19]}  {b['reason'] or '?':<14} {_size(b['size']):>10}  {b['path']}" for b in items
            ]
            _out(args, items, "\n".join(lines) if lines else f"no backups in {backups.folder}")
        else:
            return _restore(args, backups)
    except LoraManagerError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0


def _restore(args, backups) -> int:
    from .restore import restore

    r = restore(backups, args.key, dry_run=args.dry_run)
    b, now = r["backup_counts"], r["current_counts"]
    lines = [
        f"{'would restore' if r['dry_run'] else 'restored'}: {r['backup']['path']} (taken {r['backup']['created']}, "
        f"revision {r['backup_revision']})",
        "  backup:  " + ", ".join(f"{k} {v}" for k, v in b.items()),
        "  current: "
        + (", ".join(f"{k} {v}" for k, v in now.items()) if r["current_ok"] else f"damaged ({r['current_problem']})"),
        f"  the current database {'would be' if r['dry_run'] else 'was'} kept as: {r['kept_as']}",
    ]
    if r["migrates"]:
        lines.append(
            "  the backup is of an older schema: it " + ("would be" if r["dry_run"] else "was") + " migrated forward"
        )
    _out(args, r, "\n".join(lines))
    return 0


def cmd_export(app, args) -> int:
    from .archive import parse_parts

    report = app.transfer.export(args.file, parse_parts(args.what), include_previews=args.include_previews)
    text = f"exported to {report['file']} ({_size(report['size'])}): " + ", ".join(
        f"{k} {v}" for k, v in report["counts"].items()
    )
    _out(args, report, text)
    return 0


def cmd_import(app, args) -> int:
    if bool(args.file) == bool(args.source):
        print("error: give an archive FILE, or --from sdnext|lm|civitai-helper", file=sys.stderr)
        return 2
    if args.source:
        report = app.transfer.import_peers(args.source, dry_run=args.dry_run, on_conflict=args.on_conflict)
    else:
        report = app.transfer.import_archive(args.file, dry_run=args.dry_run, on_conflict=args.on_conflict)
    from .report import report_text

    _out(args, report, report_text(report))
    return 0


def cmd_sidecars(app, args) -> int:
    report = app.transfer.write_all_sidecars(dry_run=args.dry_run)
    verb = "would write" if args.dry_run else "wrote"
    text = (f"{verb} {report['written']} sidecar(s); unchanged {report['unchanged']}; skipped {report['skipped']}"
            + "".join(f"\n  skipped {s['path']}: {s['reason']}" for s in report["problems"][:50]))
    _out(args, report, text)
    return 0


COMMANDS = {"export": cmd_export, "import": cmd_import, "sidecars": cmd_sidecars}
