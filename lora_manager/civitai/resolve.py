"""From what the user named to what to download: the version, its file, its URL and where it lands."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .stream import DownloadError
from .targets import fields_of, file_name, folder_from_template, resolve_folder

# Civitai's model types that are LoRAs to SDNext ("LyCORIS" is the older name of LoCon).
LORA_TYPES = {"lora", "locon", "dora", "lycoris"}


@dataclass(slots=True)
class Plan:
    version: dict[str, Any]
    model: dict[str, Any] | None
    file: dict[str, Any]
    url: str
    sha256: str
    target: str
    root: str


def newest_version(model: dict[str, Any]) -> int:
    """Civitai lists a model's versions newest first; the first published one."""
    for summary in model.get("modelVersions") or []:
        if isinstance(summary, dict) and isinstance(summary.get("id"), int) and \
                summary.get("status", "Published") == "Published":
            return summary["id"]
    raise DownloadError("not_found", f"model {model.get('id')} has no published version on Civitai")


def fetch_version(client, model_id: int | None, version_id: int | None) -> tuple[dict, dict | None]:
    """The version (and its model when the user named the model) from Civitai."""
    model = None
    if version_id is None:
        answer = client.model(model_id)
        if answer.status != "ok":
            raise DownloadError("not_found", f"Civitai has no model {model_id}")
        model = answer.data
        version_id = newest_version(model)
    answer = client.version(version_id)
    if answer.status != "ok":
        raise DownloadError("not_found", f"Civitai has no model version {version_id}")
    return answer.data, model


def pick_file(version: dict[str, Any]) -> dict[str, Any]:
    """The version's SafeTensors model file (the primary one first); a pickled file is never taken."""
    kind = str((version.get("model") or {}).get("type") or "LORA")
    if kind.lower() not in LORA_TYPES:
        raise DownloadError("not_a_lora", f"version {version.get('id')} is a {kind} on Civitai, not a LoRA")
    files = [f for f in version.get("files") or [] if isinstance(f, dict) and f.get("type", "Model") == "Model"]
    safe = [f for f in files if str(f.get("name", "")).lower().endswith(".safetensors")
            or (f.get("metadata") or {}).get("format") == "SafeTensor"]
    if not safe:
        raise DownloadError("no_file", "this version has no .safetensors file; LoRA Manager downloads SafeTensors "
                            "only (pickled .pt and .ckpt files can run code when loaded)")
    safe.sort(key=lambda f: not f.get("primary"))
    return safe[0]


def download_url(base_url: str, version_id: int, file: dict[str, Any]) -> str:
    """Civitai's download address of the file, on the configured Civitai (its query picks the file)."""
    query = urlsplit(str(file.get("downloadUrl") or "")).query
    return f"{base_url.rstrip('/')}/api/download/models/{int(version_id)}" + (f"?{query}" if query else "")


def plan(core, client, job: dict[str, Any]) -> Plan:
    version, model = fetch_version(client, job.get("model_id"), job.get("version_id"))
    file = pick_file(version)
    sha = str((file.get("hashes") or {}).get("SHA256") or "").lower()
    if len(sha) != 64:
        raise DownloadError("no_hash", "Civitai gives no SHA-256 for this file: it could not be checked, so it is "
                            "not downloaded")
    settings = core.settings
    roots = core.files.roots
    if job.get("folder"):
        folder, root = resolve_folder(job["folder"], roots, core.files.inside_roots)
    elif job.get("old_path"):  # an update lands beside the version it updates
        folder, root = resolve_folder(os.path.dirname(job["old_path"]), roots, core.files.inside_roots)
    else:
        relative = folder_from_template(settings.civitai_folder, fields_of(version, model))
        folder, root = resolve_folder(relative, roots, core.files.inside_roots)
    name = file_name(file.get("name") or f"{version.get('id')}.safetensors")
    target = os.path.join(folder, name)
    if os.path.lexists(target) and not (job.get("replace") and target == job.get("old_path")):
        stem, ext = os.path.splitext(name)
        target = os.path.join(folder, f"{stem}-{version['id']}{ext}")
        if os.path.lexists(target):
            raise DownloadError("exists", f"{name} and {os.path.basename(target)} both exist in {folder}; "
                                "nothing was downloaded", {"folder": folder})
    return Plan(version, model, file, download_url(settings.civitai_url, version["id"], file), sha, target, root)
