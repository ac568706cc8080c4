"""Write Civitai's record beside a LoRA as `<base>.civitai.info` (Civitai Helper's dialect, docs/formats.md).

The file is the model-version answer as Civitai gave it, with the model's description, tags and creator
added where the version lacks them (as the other tools that write this file do), and our mark
`"lora_manager": {"written_by": "lora-manager", ...}`. It is written only where no `.civitai.info`
exists or the existing one carries our mark: a sidecar we did not write is never modified.
"""

from __future__ import annotations

import contextlib
import os
import threading
from datetime import datetime, timezone
from typing import Any

import orjson

from .. import __version__

MARK = "lora_manager"
SUFFIX = ".civitai.info"
MAX_READ = 8 << 20


def info_name(lora_path: str) -> str:
    return os.path.splitext(os.path.basename(lora_path))[0] + SUFFIX


def is_ours(path: str) -> bool:
    """A `.civitai.info` we wrote (our mark); False for anyone else's, or one we cannot read."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_READ + 1)
        data = orjson.loads(raw) if len(raw) <= MAX_READ else None
    except (OSError, orjson.JSONDecodeError):
        return False
    return (
        isinstance(data, dict) and isinstance(data.get(MARK), dict) and data[MARK].get("written_by") == "lora-manager"
    )


def sidecar_body(version: dict[str, Any], model: dict[str, Any] | None,
                 preview_level: int | None = None) -> dict[str, Any]:
    data = dict(version)
    if model:
        inner = dict(data.get("model") if isinstance(data.get("model"), dict) else {})
        for key in ("description", "tags"):
            if key not in inner and key in model:
                inner[key] = model[key]
        data["model"] = inner
        if "creator" not in data and isinstance(model.get("creator"), dict):
            data["creator"] = model["creator"]
    data[MARK] = {"written_by": "lora-manager", "version": __version__,
                  "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if preview_level:  # the rating of the image we take as the preview (the tab blurs by it)
        data[MARK]["preview_nsfw_level"] = preview_level
    return data


def write_info(lora_path: str, version: dict[str, Any], model: dict[str, Any] | None, *, replace_ours: bool = True,
               known_sidecars: list[dict[str, Any]] | None = None, lock: threading.Lock | None = None,
               preview_level: int | None = None) -> str:
    """Write or refresh our `.civitai.info`; returns what happened: written, kept (why), skipped or failed (why).
    Without `replace_ours`, a file of ours already there is left as it is."""
    folder = os.path.dirname(lora_path)
    name = info_name(lora_path)
    path = os.path.join(folder, name)
    with lock or contextlib.nullcontext():
        if not os.path.isfile(lora_path):
            return "skipped: the LoRA is not there any more"
        # Another spelling of the name (Foo.CIVITAI.info) seen by the last scan is someone's file too.
        others = [s for s in known_sidecars or () if s.get("kind") == "civitai_info" and s.get("name") != name]
        exists = os.path.lexists(path)
        if others or (exists and not is_ours(path)):
            return "kept: a .civitai.info we did not write is there"
        if exists and not replace_ours:
            return "kept: ours, up to date"
        tmp = os.path.join(folder, f".{name}.lm-{os.getpid()}-{threading.get_ident()}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(orjson.dumps(sidecar_body(version, model, preview_level), option=orjson.OPT_INDENT_2))
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return f"failed: cannot write {name}: {exc.strerror or exc}"
    return "written"
