"""`lora-manager civitai updates [--json]` and `lora-manager civitai download URL_OR_ID [--to FOLDER] [--json]`.

`add_commands(sub, common)` adds both to the `civitai` group's subparsers; `run(app, args)` runs one.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson


def add_commands(sub, common) -> list:
    """Adds both commands; returns their parsers (the group adds its shared flags)."""
    p = u = sub.add_parser("updates", help="check Civitai for newer versions of the LoRAs whose sidecars name a model")
    common(p)
    p.add_argument("--no-check", action="store_true", help="show what the last check found, without asking Civitai")
    p.add_argument("--all", action="store_true",
                   help="every LoRA naming a Civitai model, not only those with an update")
    p = sub.add_parser("download", help="download a LoRA from Civitai: a model or download URL, a version id or an AIR")
    common(p)
    p.add_argument("ref", metavar="URL_OR_ID", help="https://civitai.com/models/123?modelVersionId=456, 456, "
                                                    "or urn:air:sdxl:lora:civitai:123@456")
    p.add_argument("--to", dest="folder", metavar="FOLDER",
                   help="folder relative to the first root, or absolute inside a root (default: the folder template)")
    p.add_argument("--update-of", metavar="KEY",
                   help="the installed LoRA this is a newer version of (lands in its folder)")
    p.add_argument("--replace", action="store_true",
                   help="with --update-of: the old version goes to the trash and your data on it moves to the new one")
    p.add_argument("--carry-user-data", action="store_true",
                   help="with --update-of, keeping the old version: copy your data on it to the new one")
    return [u, p]


def run(app, args) -> int:
    return {"updates": _updates, "download": _download}[args.civitai_command](app, args)


def _out(args, data: Any, text: str) -> None:
    if args.json:
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(text)


def _updates(app, args) -> int:
    checker = app.civitai_updates
    check = None
    if not args.no_check:
        n = len({link.model_id for link in checker.store.links()})
        if not args.json:
            print(f"asking Civitai about {n} model(s)...", file=sys.stderr)
        check = checker.check()
    items = checker.items(only_newer=not args.all)
    lines = []
    for item in items:
        have = f"{item['version_name'] or '?'} ({item['version_id'] or '?'})"
        if item["newer"]:
            top = item["newer"][0]
            lines.append(f"{item['lora']['prompt_name']}: {have} -> {top['name']} ({top['id']}), {len(item['newer'])} "
                         f"newer  {app.settings.civitai_url}/models/{item['model_id']}?modelVersionId={top['id']}")
        else:
            lines.append(f"{item['lora']['prompt_name']}: {have}, the newest")
    if check and check.get("error"):
        lines.append(f"({check['failed']} model(s) could not be checked: {check['error']})")
    text = "\n".join(lines) or "no LoRA has a newer version on Civitai (as far as their sidecars say which they are)"
    _out(args, {"check": check, "status": checker.status(), "items": items}, text)
    return 0


def _download(app, args) -> int:
    downloads = app.civitai_downloads
    job = downloads.submit(args.ref, folder=args.folder, update_of=args.update_of, replace=args.replace,
                           carry_user_data=args.carry_user_data)
    bar = _Bar(not args.json and sys.stderr.isatty())
    try:
        job = downloads.wait(job["id"], tick=bar.tick)
    except KeyboardInterrupt:
        downloads.cancel(job["id"])
        job = downloads.wait(job["id"], timeout=30)
        print("cancelled; nothing was kept", file=sys.stderr)
        return 130
    finally:
        bar.close()
    if job["state"] != "done":
        if args.json:
            _out(args, {"error": {"code": job["error_code"] or job["state"], "message": job["error"] or job["state"],
                                  "details": {"job": job}}}, "")
        else:
            print(f"error: {job['error'] or job['state']}", file=sys.stderr)
        return 1
    _out(args, job,
         f"downloaded {job['model_name'] or ''} {job['version_name'] or ''} -> {job['target']}".replace("  ", " "))
    return 0


class _Bar:
    """A tqdm bar on a terminal, nothing otherwise."""

    def __init__(self, on: bool):
        self.bar = None
        self.on = on

    def tick(self, job: dict[str, Any]) -> None:
        if not self.on or not job.get("size"):
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=job["size"], unit="B", unit_scale=True, desc=job.get("file_name") or "download",
                            file=sys.stderr, leave=False)
        self.bar.total = job["size"]
        self.bar.n = job.get("done_bytes") or 0
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

