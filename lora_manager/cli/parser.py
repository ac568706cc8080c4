"""The command line's arguments: every command's parser (each package adds its own) and the flags all share."""

from __future__ import annotations

import argparse

from .. import __version__
from ..catalog import cli as catalog_cli
from ..civitai.cli import add_civitai_parser, add_url_flag
from ..recipes import cli as recipes_cli
from ..transfer import cli as transfer_cli
from . import jobs


def common(p: argparse.ArgumentParser) -> None:
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
    common(p)
    p.add_argument("--demo", action="store_true", help="generate a sample library in the data dir and index it")
    p.add_argument("--wait-hashes", action="store_true", help="wait until every file is hashed")
    p.add_argument("--no-hash", action="store_true", help="do not hash now (hashing resumes on the next scan)")
    p = sub.add_parser("list", help="list entries")
    common(p)
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
    common(p)
    p.add_argument("key")
    p = sub.add_parser("edit", help="edit user data: --set field=value (JSON values)")
    common(p)
    p.add_argument("key")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", required=True)
    p = sub.add_parser("bulk", help="one action on many entries")
    common(p)
    p.add_argument("action", help="tag|untag|favorite|unfavorite|set_base|collect|uncollect|move|restore|forget")
    p.add_argument("keys", nargs="+")
    p.add_argument("--value", help="tags (comma-separated), base family, collection name, or folder (move)")
    p = sub.add_parser("move", help="move and/or rename a LoRA with its sidecars and previews")
    common(p)
    p.add_argument("key")
    p.add_argument("--to", dest="folder", help="folder relative to its root (or absolute, inside a root)")
    p.add_argument("--name", dest="new_name", help="new base name")
    p = sub.add_parser("restore", help="restore a LoRA from the trash")
    common(p)
    p.add_argument("key")
    catalog_cli.add_commands(sub, common)  # trash, forget, organize
    p = sub.add_parser("tags", help="tags with counts")
    common(p)
    add_civitai_parser(sub, common)
    p = sub.add_parser("serve",
                       help="run the tab, the API and its docs, scanning in the background and watching for changes")
    common(p)
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
    transfer_cli.add_commands(sub, common)  # backup, backups, restore BACKUP, export, import, sidecars
    recipes_cli.add_commands(sub, common)  # recipes list|show|import|export
    jobs.add_commands(sub)  # jobs list|show|submit|cancel, against a running server (cli/jobs.py)
    return ap
