"""A verified download takes its place in the library (docs/civitai.md, "Downloads").

Order, so that nothing half-done is ever in a root: the version's record (`<name>.civitai.info`)
and a preview are written beside the final name first; then the model file appears at once, by a
hard link from the data directory's partial file (same filesystem) or, across filesystems, by a
copy into a hidden `.<id>.lm-download` file in the target folder, synced, then linked to its name
(never replacing a file). Any failure removes what this download wrote. Then the file is indexed,
the user's data follows it when asked (below), and the host's list is refreshed.

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

import orjson

from .stream import DownloadError, disk_full

log = logging.getLogger(__name__)
PREVIEW_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
MAX_PREVIEW = 20 << 20


def notify_library_changed(core) -> None:
    """The one place a download tells the host its list changed (today App.library_changed)."""
    core.library_changed()


def land(core, store, client, job: dict[str, Any], part: str, version: dict[str, Any]) -> tuple[int | None, list[str]]:
    """Move the verified `part` to job["target"], index it, carry user data; returns (lora id, warnings)."""
    final = job["target"]
    folder, root = os.path.dirname(final), job["root"]
    old = job.get("update_of")
    trashed = False
    if old and job.get("replace"):
        core.files.trash(old)  # first: the new version may take the old one's name
        trashed = True
    written: list[str] = []
    try:
        _makedirs(folder)
        warnings = write_companions(core, client, final, version, written)
        place(part, final, job["id"])
    except BaseException:
        for path in written:
            _unlink(path)
        if trashed:
            core.files.restore(old)
        raise
    lora_id = index(core, final, root)
    if old and lora_id is not None and (job.get("replace") or job.get("carry_user_data")):
        store.carry_user_data(old, lora_id, move=bool(job.get("replace")))
    core.hasher.wake()
    notify_library_changed(core)
    return lora_id, warnings


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


def write_companions(core, client, final: str, version: dict[str, Any], written: list[str]) -> list[str]:
    """The version's record as `<name>.civitai.info` and a preview, beside the final name, unless
    the user turned them off. Part 1's fetch (metadata by hash) may replace this when it lands."""
    settings = core.settings
    stem = os.path.splitext(final)[0]
    warnings: list[str] = []
    if getattr(settings, "civitai_sidecars", True):
        info = stem + ".civitai.info"
        if not os.path.lexists(info):
            _write_new(info, orjson.dumps(version, option=orjson.OPT_INDENT_2))
            written.append(info)
    if getattr(settings, "civitai_previews", True):
        try:
            preview = _preview(client, stem, version, getattr(settings, "civitai_nsfw_level", 1))
            if preview:
                written.append(preview)
        except DownloadError:
            raise
        except Exception as exc:  # a preview is a nicety: its failure is said, never ends the download
            warnings.append(f"no preview: {getattr(exc, 'message', None) or exc}")
    return warnings


def _preview(client, stem: str, version: dict[str, Any], level: int) -> str | None:
    for image in version.get("images") or []:
        if not isinstance(image, dict) or image.get("type", "image") != "image" or not image.get("url"):
            continue
        nsfw = image.get("nsfwLevel")
        if not isinstance(nsfw, int) or nsfw > level:
            continue
        chunks: list[bytes] = []
        ctype = client.download(str(image["url"]), chunks.append, MAX_PREVIEW)
        ext = PREVIEW_TYPES.get(ctype)
        if ext is None:
            continue
        path = f"{stem}.preview.{ext}"
        if os.path.lexists(path):
            return None
        _write_new(path, b"".join(chunks))
        return path
    return None


def index(core, path: str, root: str) -> int | None:
    """Add the landed file to the index now (a scan would find it too; the row is the same)."""
    from ..library.probe import probe
    from ..library.walker import entry_for

    entry = entry_for(path, root)
    if entry is None:
        return None
    row = probe(entry)
    with core.files.lock:  # scans write under this lock: the path is indexed once
        if core.repo.id_at_path(path) is None:
            core.repo.insert_files([row])
        return core.repo.id_at_path(path)


def _write_new(path: str, data: bytes) -> None:
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".lm-tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:  # no hard links here: the name was free a moment ago
            if not os.path.lexists(path):
                os.rename(tmp, path)
    except FileExistsError:
        pass  # another writer's file stands
    except OSError as exc:
        raise _disk(exc, path) from None
    finally:
        _unlink(tmp)


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
