"""Where a downloaded LoRA lands: a folder from a template, every part made safe, never outside a root.

The template (LORA_MANAGER_CIVITAI_FOLDER, default `{base}/{model_name}`) is split at `/`; each part
is filled in and then sanitised on its own, so a model named `../../etc` or `a/b` stays one harmless
folder name. Fields: {base} (the SDNext family: xl, sd1, f1 ...; `other` when unknown),
{base_label} (Civitai's label: "SDXL 1.0", "Pony"), {model_name}, {model_id}, {version_name},
{version_id}, {creator}, {type} (LORA, LoCon, DoRA).
"""

from __future__ import annotations

import os
import re
import string
import unicodedata
from typing import Any

from ..errors import InvalidInput
from ..library.basemodel import family_of_label

DEFAULT_TEMPLATE = "{base}/{model_name}"
FIELDS = ("base", "base_label", "model_name", "model_id", "version_name", "version_id", "creator", "type")
MAX_PART = 100  # characters of one folder or file name part; the whole path stays well under limits
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.I)  # Windows device names


def check_template(template: str) -> str:
    """The template, or ValueError naming the setting (read at start-up)."""
    template = (template or "").strip() or DEFAULT_TEMPLATE
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ValueError(f"LORA_MANAGER_CIVITAI_FOLDER is not a template: {exc}") from None
    unknown = sorted({n for n in names if n not in FIELDS})
    if unknown:
        raise ValueError(f"LORA_MANAGER_CIVITAI_FOLDER names unknown fields {unknown}; known: {', '.join(FIELDS)}")
    return template


def safe_part(text: Any, fallback: str = "_") -> str:
    """One file or folder name: no separators, control or reserved characters, no leading or
    trailing dots and spaces, not a device name, at most MAX_PART characters."""
    text = unicodedata.normalize("NFC", str(text if text is not None else ""))
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    if len(text) > MAX_PART:
        text = text[:MAX_PART].rstrip(" .")
    if not text or set(text) <= {"_"} and fallback != "_":
        text = fallback
    if _RESERVED.match(text):
        text = "_" + text
    return text


def fields_of(version: dict[str, Any], model: dict[str, Any] | None = None) -> dict[str, str]:
    """The template's values for a Civitai model version (and its model, when fetched)."""
    inner = version.get("model") if isinstance(version.get("model"), dict) else {}
    model = model or {}
    label = str(version.get("baseModel") or "")
    creator = model.get("creator") if isinstance(model.get("creator"), dict) else {}
    return {
        "base": family_of_label(label) or "other",
        "base_label": label or "other",
        "model_name": str(model.get("name") or inner.get("name") or f"model {version.get('modelId', '')}".strip()),
        "model_id": str(version.get("modelId") or model.get("id") or ""),
        "version_name": str(version.get("name") or ""),
        "version_id": str(version.get("id") or ""),
        "creator": str(creator.get("username") or "unknown"),
        "type": str(inner.get("type") or model.get("type") or "LORA"),
    }


def folder_from_template(template: str, values: dict[str, str]) -> str:
    """A relative folder (with `/`), each part filled in and sanitised; empty parts dropped."""
    parts = []
    for piece in template.replace("\\", "/").split("/"):
        if not piece.strip():
            continue
        filled = piece.format_map({k: values.get(k, "") for k in FIELDS})
        parts.append(safe_part(filled))
    return "/".join(p for p in parts if p not in ("", ".", ".."))


def file_name(name: str) -> str:
    """Civitai's file name made safe, keeping its extension."""
    stem, ext = os.path.splitext(str(name or ""))
    return safe_part(stem, "lora") + (ext.lower() if re.fullmatch(r"\.[A-Za-z0-9]{1,12}", ext) else "")


def resolve_folder(folder: str, roots: list[str], inside) -> tuple[str, str]:
    """(absolute folder, its root) for a folder relative to the first root, or absolute inside one.
    `inside(path)` is FileOps.inside_roots (the roots' fence, links included)."""
    if not roots:
        raise InvalidInput("no library root to download into: give --lora-dir or set LORA_MANAGER_LORA_DIRS")
    folder = (folder or "").strip()
    if "\x00" in folder:
        raise InvalidInput("the folder contains a NUL character")
    if os.path.isabs(folder):
        target = os.path.normpath(folder)
    else:
        rel = folder.replace("\\", "/").strip("/")
        if any(p == ".." for p in rel.split("/")):
            raise InvalidInput("the folder must stay inside the library root ('..' is refused)", {"folder": folder})
        target = os.path.normpath(os.path.join(roots[0], rel)) if rel else roots[0]
    root = next((r for r in roots if target == r or target.startswith(r.rstrip(os.sep) + os.sep)), None)
    if root is None or not inside(os.path.join(target, "x")):
        raise InvalidInput("the folder must be inside a library root", {"folder": folder, "roots": roots})
    if os.path.lexists(target) and not os.path.isdir(target):
        raise InvalidInput("the target folder is a file", {"folder": target})
    return target, root
