"""`lora-manager recipes list|show|import|export`: recipes from the command line (docs/recipes.md).

Registered by lora_manager/cli.py. `import` takes a recipe document, a PNG exported with one, or any
image carrying generation parameters (SDNext, A1111, ComfyUI, Civitai).
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

from ..errors import LoraManagerError


def add_commands(sub, common) -> None:
    p = sub.add_parser("recipes", help="recipes: a prompt, its settings and a LoRA stack, saved (docs/recipes.md)")
    inner = p.add_subparsers(dest="recipes_command", required=True)
    ls = inner.add_parser("list", help="recipes, newest first")
    common(ls)
    ls.add_argument("query", nargs="?", help="words of title, prompt, tags or LoRA names")
    ls.add_argument("--tag", help="only recipes with this tag")
    ls.add_argument("--lora", metavar="KEY", help="only recipes using this LoRA (id, name or hash)")
    ls.add_argument("--limit", type=int, default=50)
    show = inner.add_parser("show", help="one recipe with its LoRAs' presence and its infotext")
    common(show)
    show.add_argument("id", type=int)
    imp = inner.add_parser("import", help="a recipe document, a PNG exported with one, or an image's parameters")
    common(imp)
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--title", help="the title of a recipe made from an image")
    exp = inner.add_parser("export", help="a recipe as a JSON document or PNG; --all: every recipe as one document")
    common(exp)
    exp.add_argument("id", type=int, nargs="?")
    exp.add_argument("--all", action="store_true", help="every recipe (JSON)")
    exp.add_argument("--format", choices=("json", "png"), default="json")
    exp.add_argument("-o", "--output", metavar="FILE", help="write here (default: standard output, JSON only)")


def _line(r: dict[str, Any]) -> str:
    loras = ", ".join(f"{lo['name']}{'' if lo['present'] else ' (missing)'}" for lo in r["loras"]) or "no LoRAs"
    tags = f"  [{', '.join(r['tags'])}]" if r["tags"] else ""
    return f"{r['id']:>5}  {r['title'][:50]:<50}  {loras}{tags}"


def _dump(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def cmd_recipes(app, args) -> int:
    svc = app.recipes
    command = args.recipes_command
    if command == "list":
        page = svc.list(q=args.query, tag=args.tag, lora=args.lora, limit=args.limit)
        if args.json:
            _dump(page)
        else:
            print("\n".join(_line(r) for r in page["items"]) or "no recipes yet (make one: recipes import IMAGE)")
            if page["total"] > len(page["items"]):
                print(f"... {page['total'] - len(page['items'])} more (--limit)")
        return 0
    if command == "show":
        recipe = svc.get(args.id)
        sent = svc.send(args.id)
        if args.json:
            _dump({**recipe, "infotext": sent["infotext"]})
        else:
            print(f"{recipe['id']}: {recipe['title']}  ({recipe['source']}, {recipe['created_at']})")
            print(sent["infotext"])
            for w in recipe["warnings"]:
                print(f"warning: {w}")
        return 0
    if command == "import":
        return _import(svc, args)
    return _export(svc, args)


def _import(svc, args) -> int:
    made, failed = [], 0
    for path in args.files:
        try:
            with open(path, "rb") as f:
                data = f.read(64 << 20)
            if data[:1] in (b"{", b"[") or b"lora-manager-recipe" in data[:1 << 20]:
                made += svc.import_(data)["recipes"]
            else:
                made.append(svc.from_image(data, title=args.title))
        except (OSError, LoraManagerError) as exc:
            failed += 1
            print(f"error: {path}: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
    if args.json:
        _dump({"imported": len(made), "failed": failed, "recipes": made})
    else:
        for r in made:
            print(_line(r))
            for w in r["warnings"]:
                print(f"       warning: {w}")
        print(f"{len(made)} recipe(s) imported" + (f", {failed} file(s) failed" if failed else ""))
    return 1 if failed else 0


def _export(svc, args) -> int:
    if args.all == (args.id is not None):
        print("error: give a recipe id, or --all (not both)", file=sys.stderr)
        return 2
    if args.format == "png" and not args.output:
        print("error: a PNG needs --output FILE", file=sys.stderr)
        return 2
    _, body, _ = svc.export(None if args.all else args.id, "json" if args.all else args.format)
    if args.output:
        with open(args.output, "wb") as f:
            f.write(body)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(body.decode() + "\n")
    return 0


COMMANDS = {"recipes": cmd_recipes}
