"""A verified download takes its place in the library (docs/civitai.md, "Downloads").

Nothing half-done is ever in a root: the model file appears at once, by a hard link from the data
directory's partial file (same filesystem) or, across filesystems, by a copy into a hidden
`.<id>.lm-download` file in the target folder, synced, then linked to its name (never replacing a
file); a failure removes the hidden copy. Then Civitai's record is kept as a fetch by hash keeps it
(the store, `<name>.civitai.info`, a preview), the file is indexed, the user's data follows it when
asked (below), and the host's list is refreshed.

An update of an installed LoRA:
- replace: the old version goes to the trash (restorable) first, the new file lands in its folder,
  and the user's data (favourite, rating, notes, triggers, weights, negative text, base override,
  tags, collections) MOVES to the new entry; the trashed entry keeps none. A failure to land puts
  the old version back.
- beside: the old version stays; with `carry_user_data` the user's data is COPIED to the new entry.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from typing import Any

from .stream import DownloadError, disk_full

log = logging.getLogger(__name__)


def land(core, library, store, client, job: dict[str, Any], part: str, version: dict[str, Any],
         model: dict[str, Any] | None = None) -> tuple[int | None, list[str]]:
    """Move the verified `part` to job["target"], index it, carry user data; returns (lora id, warnings)."""
    final = job["target"]
    folder, root = os.path.dirname(final), job["root"]
    old = job.get("update_of")
    trashed = False
    if old and job.get("replace"):
        core.files.trash(old)  # first: the new version may take the old one's name
        trashed = True
    try:
        _makedirs(folder)
        place(part, final, job["id"])
    except BaseException:
        if trashed:
            core.files.restore(old)
        raise
    warnings = record(core, library, client, final, job["sha256"], version, model)
    lora_id = library.add_file(final, root)
    if old and lora_id is not None and (job.get("replace") or job.get("carry_user_data")):
        store.carry_user_data(old, lora_id, move=bool(job.get("replace")))
    core.hasher.wake()
    library.changed()
    return lora_id, warnings


def record(core, library, client, final: str, sha256: str, version: dict[str, Any],
           model: dict[str, Any] | None) -> list[str]:
    """Civitai's record of the new file, as a fetch by hash leaves it (civitai/fetcher.py): stored under
    its SHA-256, `<name>.civitai.info` and a preview unless the settings say no. A failure here is a
    warning on the job: the verified file stays."""
    from ..storage.civitai_store import Stored, utcnow
    from .client import CivitaiUnavailable
    from .facts import image_level, pick_preview, trim_model
    from .previews import fetch_preview
    from .sidecar import write_info

    settings, lock, warnings = core.settings, core.files.lock, []
    now = utcnow()
    library.stores.civitai.save_found(sha256, "sha256", Stored(version, None, now),
                                      Stored(trim_model(model), None, now) if model else None)
    if settings.civitai_sidecars:
        picked = pick_preview(version.get("images"), settings.civitai_nsfw_level)
        said = write_info(final, version, model, lock=lock, preview_level=image_level(picked) if picked else None)
        if said != "written":
            warnings.append(f"sidecar {said}")
    if settings.civitai_previews:
        try:
            said = fetch_preview(client, final, version, max_level=settings.civitai_nsfw_level, lock=lock)
        except CivitaiUnavailable as exc:
            said = f"failed: {exc.message}"
        if said.startswith("failed"):
            warnings.append(f"preview {said}")
    return warnings


def place(part: str, final: str, job_id: str) -> None:
    """`part` appears at `final` at once, never replacing a file there."""
    try:
        os.link(part, final)
        _unlink(part)
        return
    except FileExistsError:
        raise DownloadError("exists", f"a file named {os.path.basename(final)} appeared in the folder meanwhile; "
                            "nothing was replaced", {"path": final}) from None
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EACCES):
            raise _disk(exc, final) from None
    hidden = os.path.join(os.path.dirname(final), f".{job_id}.lm-download")  # the scanner skips hidden names
    try:
        with open(part, "rb") as src, open(hidden, "xb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        try:
            os.link(hidden, final)
        except FileExistsError:
            raise DownloadError("exists", f"a file named {os.path.basename(final)} appeared in the folder "
                                "meanwhile; nothing was replaced", {"path": final}) from None
        except OSError:  # a filesystem without hard links: the name was free a moment ago
            if os.path.lexists(final):
                raise DownloadError("exists", "the file name was taken meanwhile", {"path": final}) from None
            os.rename(hidden, final)
    except OSError as exc:
        raise _disk(exc, final) from None
    finally:
        _unlink(hidden)
    _unlink(part)


def _makedirs(folder: str) -> None:
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise _disk(exc, folder) from None


def _disk(exc: OSError, path: str) -> Exception:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return disk_full(path, None)
    return DownloadError("invalid", f"cannot write {path}: {exc.strerror or exc}", {"path": path})


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
