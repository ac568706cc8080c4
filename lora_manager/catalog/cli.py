"""`lora-manager trash KEY... | list | empty [--yes] | restore KEY... | delete KEY... [--yes]`, `forget KEY...`,
`organize --template T [KEY...] [--dry-run] [--json]`: the library actions on the command line.

Registered by lora_manager/cli.py (the parsers and COMMANDS), over `app.actions` (catalog/actions.py).
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

from ..errors import LoraManagerError
from ..storage.catalog_store import LoraQuery
from .organize import PLACEHOLDERS

TRASH_WORDS = ("list", "empty", "restore", "delete")


def add_commands(sub, common) -> None:
    p = sub.add_parser("trash", help="trash KEY...: delete to the trash (recoverable); trash list; "
                                     "trash restore KEY...; trash delete KEY... --yes: delete these trashed LoRAs "
                                     "for good; trash empty --yes: delete every trashed file for good")
    common(p)
    p.add_argument("words", nargs="+", metavar="KEY|list|empty|restore|delete",
                   help="LoRAs to trash; or list, empty, restore KEY..., delete KEY... (a LoRA named so: trash ./NAME)")
    p.add_argument("--yes", action="store_true", help="empty, delete: delete for good without asking")
    p.add_argument("--limit", type=int, default=200, help="list: at most this many (default 200)")
    p = sub.add_parser("forget", help="drop missing entries (their file is gone) and their user data")
    common(p)
    p.add_argument("keys", nargs="+", metavar="KEY")
    p = sub.add_parser("organize", help="move LoRAs into folders by a template, e.g. {base}/{type} "
                                        "(sidecars, previews and user data follow)")
    common(p)
    p.add_argument("keys", nargs="*", metavar="KEY", help="only these LoRAs (default: every present one)")
    p.add_argument("--template", required=True,
                   help="folders below each LoRA's root; placeholders: " + ", ".join(f"{{{x}}}" for x in PLACEHOLDERS))
    p.add_argument("--dry-run", action="store_true", help="print every move; change nothing")


def _out(args, data: Any, text: str) -> None:
    if args.json:
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(text)


def skips(report: dict[str, Any]) -> list[str]:
    """Lines of the LoRAs a file action skipped, with the reasons."""
    return [f"skipped #{s['id']}: {s['reason']}" for s in report.get("skipped", [])]


def cmd_trash(app, args) -> int:
    word, rest = args.words[0], args.words[1:]
    if word == "list" and not rest:
        page = app.catalog.list(LoraQuery(state="trashed", sort="name", limit=max(1, min(args.limit, 1000))))
        lines = [f"{e['id']:>6} {e['name']}  ({e['root']}/{e['folder']})".replace("/)", ")") for e in page.items]
        _out(args, {"total": page.total, "items": page.items},
             "\n".join([*lines, f"({len(page.items)} of {page.total} in the trash)"]) if page.total
             else "the trash is empty")
        return 0
    if word == "empty" and not rest:
        return _empty(app, args)
    if word == "restore" and rest:
        done = app.actions.bulk(rest, "restore")
        _out(args, done, "\n".join([f"restored {done['changed']} LoRA(s)", *skips(done)]))
        return 1 if done["skipped"] else 0
    if word == "delete" and rest:
        return _delete(app, args, rest)
    if word in TRASH_WORDS:
        need = word in ("restore", "delete")
        print(f"error: trash {word} " + (f"needs the keys to {word}" if need else "takes no keys"), file=sys.stderr)
        return 2
    entries = [app.files.trash(key.removeprefix("./")) for key in args.words]
    _out(args, entries[0] if len(entries) == 1 else entries,
         "\n".join(f"trash: {e['path']} ({e['state']})" for e in entries))
    return 0


def _asked(args, count: int, what: str) -> int | None:
    """None when deleting for good may go on (--yes, or yes on a terminal); else the exit code."""
    if args.yes:
        return None
    if args.json or not sys.stdin.isatty():
        print(f"error: this deletes {count} file(s) for good: add --yes", file=sys.stderr)
        return 2
    answer = input(f"delete {what} for good? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        print("nothing deleted", file=sys.stderr)
        return 1
    return None


def _delete(app, args, keys: list[str]) -> int:
    """Delete these trashed LoRAs for good (the API's DELETE /loras/{key}?permanent=true); the others are skipped."""
    if (refused := _asked(args, len(keys), f"these {len(keys)} LoRA(s) in the trash")) is not None:
        return refused
    deleted, skipped = [], []
    for key in dict.fromkeys(k.removeprefix("./") for k in keys):
        try:
            deleted.append(app.actions.trash.delete(key)["deleted"])
        except LoraManagerError as exc:
            skipped.append({"key": key, "reason": exc.message})
    done = {"deleted": deleted, "skipped": skipped}
    _out(args, done, "\n".join([f"deleted {len(deleted)} LoRA(s) for good",
                                *(f"skipped {s['key']}: {s['reason']}" for s in skipped)]))
    return 1 if skipped else 0


def _empty(app, args) -> int:
    count = app.catalog.counts().get("trashed", 0)
    if not count:
        _out(args, {"deleted": 0}, "the trash is empty")
        return 0
    if (refused := _asked(args, count, f"the {count} LoRA(s) in the trash")) is not None:
        return refused
    done = app.actions.trash.empty()
    _out(args, done, f"deleted {done['deleted']} LoRA(s) for good")
    return 0


def cmd_forget(app, args) -> int:
    done = app.actions.bulk(args.keys, "forget")
    _out(args, done, "\n".join([f"forgot {done['changed']} missing entr{'y' if done['changed'] == 1 else 'ies'}",
                                *skips(done)]))
    return 1 if done["skipped"] else 0


def cmd_organize(app, args) -> int:
    report = app.actions.organizer.organize(args.template, args.keys or None, dry_run=args.dry_run)
    verb = "would move" if args.dry_run else "moved"
    lines = [f"{verb} #{m['id']}: {m['from']} -> {m['to']}" for m in report["moves"]]
    lines += [f"skipped #{s['id']}: {s['reason']}" + (f" ({s['to']})" if s.get("to") else "")
              for s in report["skipped"]]
    lines.append(f"{len(report['moves'])} {verb}, {len(report['skipped'])} skipped, "
                 f"{report['unchanged']} already in place" + (" (dry run: nothing changed)" if args.dry_run else ""))
    _out(args, report, "\n".join(lines))
    return 0


COMMANDS = {"trash": cmd_trash, "forget": cmd_forget, "organize": cmd_organize}
