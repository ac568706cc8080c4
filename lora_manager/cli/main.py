"""The command line's entry point: parse, check, build the core once, run the command, print errors as one line."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import orjson

from ..catalog import cli as catalog_cli
from ..civitai.cli import cmd_civitai
from ..errors import LoraManagerError
from ..recipes import cli as recipes_cli
from ..settings import Settings
from ..transfer import cli as transfer_cli
from . import jobs
from .library import cmd_bulk, cmd_edit, cmd_files, cmd_list, cmd_scan, cmd_show, cmd_tags
from .parser import parser
from .roots import remember_roots, settings_from


def cmd_serve(app, args) -> int:
    from ..standalone.server import serve

    remember_roots(app.settings.data_dir, app.settings.lora_dirs)
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
    if args.command == "jobs":  # jobs run inside a host: these commands talk to its server, no library here
        return jobs.run(args)
    problems = _bad_roots(args.lora_dirs)
    if problems:
        for line in problems:
            print(f"error: {line}", file=sys.stderr)
        return 2
    listener = None
    if args.command == "serve":
        from ..standalone.server import PortInUse, bind, keyless_refusal

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
    settings = settings_from(args)
    if getattr(args, "demo", False):
        from ..demo.sample import demo_library

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
    from ..app import build

    try:
        # The server runs for hours: a new library's schema is built in a child, so that Alembic is never
        # loaded in it (storage/new_schema.py). A short command has no reason to pay for a process more.
        app = build(settings, schema_in_child=args.command == "serve")
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
