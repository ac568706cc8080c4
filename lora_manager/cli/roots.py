"""Settings from a command's flags and the environment, and the library roots a data directory remembers."""

from __future__ import annotations

import argparse
import os

import orjson

from ..settings import Settings


def settings_from(args: argparse.Namespace) -> Settings:
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


def remember_roots(data_dir: str, roots: list[str]) -> None:
    tmp = _roots_file(data_dir) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(orjson.dumps(roots))
    os.replace(tmp, _roots_file(data_dir))

