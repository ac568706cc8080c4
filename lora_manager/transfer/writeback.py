"""Our user data written into the SDNext/A1111 user metadata `<base>.json`, so the host's own cards and
other tools see it (setting LORA_MANAGER_WRITE_SIDECARS, or the host's setting; docs/transfer.md).

Only that dialect's keys are written: "activation text" (the trigger words in effect, comma-separated),
"preferred weight", "notes", "negative text", and "description" where the file has none. Every other key
of an existing file stays as it was; a value we have no word for never erases the file's. A file that
does not parse as a JSON object is never written. Writes go to a temporary file, then os.replace.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

import orjson

from ..library.sidecars import MAX_SIDECAR_BYTES, _decode, _read_bytes
from ..storage.transfer_store import TransferStore

log = logging.getLogger(__name__)
LIVE = ("ok", "broken", "unsupported")


def dialect_values(row: dict[str, Any]) -> dict[str, Any]:
    """The A1111 keys for one LoRA from our row (user columns and facts)."""
    triggers = row["u_triggers"] if row["u_triggers"] is not None else row["triggers"]
    out: dict[str, Any] = {}
    if triggers:
        out["activation text"] = ", ".join(triggers)
    if row["preferred_weight"] is not None:
        out["preferred weight"] = row["preferred_weight"]
    if row["notes"]:
        out["notes"] = row["notes"]
    if row["negative_text"]:
        out["negative text"] = row["negative_text"]
    return out


def merge_into(existing: dict[str, Any], ours: dict[str, Any], description: str | None) -> dict[str, Any]:
    merged = dict(existing)
    merged.update(ours)
    if description and not (isinstance(existing.get("description"), str) and existing["description"].strip()):
        merged["description"] = description
    return merged


def write_sidecar(row: dict[str, Any], *, dry_run: bool = False) -> tuple[str, str | None]:
    """("written" | "unchanged" | "skipped", why skipped) for one LoRA's `<base>.json`."""
    folder, file_name = os.path.split(row["path"])
    target = os.path.join(folder, file_name.rsplit(".", 1)[0] + ".json")
    ours = dialect_values(row)
    if not ours:
        return "unchanged", None
    existing: dict[str, Any] = {}
    stat = None
    if os.path.lexists(target):
        if os.path.islink(target) or not os.path.isfile(target):
            return "skipped", "not a regular file"
        stat = os.stat(target)
        raw, err = _read_bytes(target)
        text, err = (None, err) if err else _decode(raw, latin1_fallback=False)
        if err:
            return "skipped", err
        try:
            existing = orjson.loads(text) if text.strip() else None
        except orjson.JSONDecodeError as exc:
            return "skipped", f"does not parse as JSON ({str(exc)[:120]}); left as it is"
        if not isinstance(existing, dict):
            return "skipped", "not a JSON object; left as it is"
    merged = merge_into(existing, ours, row.get("description"))
    if merged == existing:
        return "unchanged", None
    if dry_run:
        return "written", None
    body = orjson.dumps(merged, option=orjson.OPT_INDENT_2)
    if len(body) > MAX_SIDECAR_BYTES:
        return "skipped", "would grow over the sidecar size limit"
    tmp = os.path.join(folder, f".{os.path.basename(target)}.lm-{os.getpid()}-{threading.get_ident()}")
    try:
        with open(tmp, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        if stat is not None:
            now = os.stat(target)
            if (now.st_mtime_ns, now.st_size) != (stat.st_mtime_ns, stat.st_size):
                return "skipped", "changed while we wrote it; left as it is"
        os.replace(tmp, target)
    except OSError as exc:
        return "skipped", f"cannot write: {exc.strerror or exc}"
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return "written", None


class SidecarWriter:
    """Writes after edits when `enabled()` says so, on its own thread (never the request's)."""

    def __init__(self, store: TransferStore, enabled: Callable[[], bool]):
        self.store = store
        self.enabled = enabled
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def edited(self, ids: list[int]) -> None:
        """Catalog edit listener: queue the LoRAs whose user data changed."""
        try:
            if not self.enabled():
                return
        except Exception:  # a host setting that cannot be read means "off"
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="lora-manager-sidecars", daemon=True)
                self._thread.start()
        self._queue.put(list(ids))

    def _run(self) -> None:
        while True:
            ids = self._queue.get()
            if ids is None:
                return
            try:
                self.write(ids)
            except Exception:  # logged; the next edit tries again
                log.exception("writing sidecars failed")
            finally:
                self._queue.task_done()

    def wait(self) -> None:
        """Until every queued write is done (tests, shutdown)."""
        self._queue.join()

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)

    def write(self, ids: list[int] | None = None, *, dry_run: bool = False) -> dict[str, Any]:
        """Write `<base>.json` for `ids` (None: every LoRA with user data)."""
        report: dict[str, Any] = {"dry_run": dry_run, "written": 0, "unchanged": 0, "skipped": 0, "problems": []}
        for row in self.store.sidecar_rows(ids):
            if row["state"] not in LIVE:
                continue
            outcome, why = write_sidecar(row, dry_run=dry_run)
            report[outcome] += 1
            if why:
                report["problems"].append({"path": row["path"], "reason": why})
        return report
