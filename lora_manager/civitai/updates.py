"""Newer versions on Civitai of the LoRAs we have (docs/civitai.md, "Updates").

A LoRA takes part when a sidecar names its Civitai model (`.civitai.info`, SDNext's `<name>.json`,
ComfyUI-Lora-Manager's `.metadata.json` ...: the scan's sidecar facts). Each such model is asked
once per check (`GET /api/v1/models/{id}`, with its ETag: an unchanged model costs a 304); its
versions are kept as summaries, newest first. A version is newer than the LoRA's when it was
published later, or, when either date is missing or they are equal, when its id is larger (Civitai's
ids grow); a LoRA whose version is unknown is never said to have an update. Only published versions
count. Checks run in the background at most every LORA_MANAGER_CIVITAI_UPDATE_HOURS (the last
check's time is in the database, so a restart does not ask again), and on demand.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import NotFound

log = logging.getLogger(__name__)
FIRST_CHECK_DELAY_S = 600.0  # the host's start-up and the first scan come first
GIVE_UP_AFTER = 3  # models in a row Civitai could not be asked about end a check


def summarise(model: dict[str, Any]) -> list[dict[str, Any]]:
    """The published versions of a /models/{id} answer, newest first, as the API shows them."""
    out = []
    for v in model.get("modelVersions") or []:
        if not isinstance(v, dict) or not isinstance(v.get("id"), int) or v.get("status", "Published") != "Published":
            continue
        files = [f for f in v.get("files") or [] if isinstance(f, dict)]
        primary = next((f for f in files if f.get("primary")), files[0] if files else {})
        out.append({"id": v["id"], "name": str(v.get("name") or "")[:200] or None,
                    "base_model": str(v.get("baseModel") or "")[:100] or None,
                    "published_at": _date_text(v.get("publishedAt") or v.get("createdAt")),
                    "file_name": str(primary.get("name") or "")[:300] or None,
                    "size_kb": primary.get("sizeKB") if isinstance(primary.get("sizeKB"), (int, float)) else None})
    return out


def newer(versions: list[dict[str, Any]], current: int | None) -> list[dict[str, Any]]:
    """Versions newer than `current` (by date, then id), newest first; none when `current` is unknown."""
    if current is None:
        return []
    mine = next((v for v in versions if v["id"] == current), None)
    mine_at = _when(mine.get("published_at")) if mine else None
    out = []
    for v in versions:
        if v["id"] == current:
            continue
        at = _when(v.get("published_at"))
        later = at > mine_at if at is not None and mine_at is not None and at != mine_at else v["id"] > current
        if later:
            out.append(v)
    return out


class UpdateChecker:
    def __init__(self, library, store, clients, *, hours: float = 24.0, publish=None):
        self.library = library  # services.Library
        self.store = store
        self.clients = clients
        self.hours = hours
        self.publish = publish or (lambda event: None)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.progress = {"done": 0, "total": 0}
        self.last: dict[str, Any] | None = None  # the last check's summary in this process

    # --- checking ---------------------------------------------------------------------------------
    def check(self) -> dict[str, Any]:
        """Ask Civitai about every linked model now (in this thread); returns what was found."""
        from .client import CivitaiUnavailable, Stopped

        links = self.store.links()
        model_ids = sorted({link.model_id for link in links})
        known = self.store.models(model_ids)
        self.progress = {"done": 0, "total": len(model_ids)}
        failed, in_a_row, error = 0, 0, None
        client = self.clients.get()
        for mid in model_ids:
            if self._stop.is_set():
                break
            stored = known.get(mid)
            try:
                answer = client.model(mid, etag=stored["etag"] if stored and stored["status"] == "ok" else None)
            except Stopped:
                break
            except CivitaiUnavailable as exc:
                failed, in_a_row, error = failed + 1, in_a_row + 1, exc.message
                self.store.save_model(mid, status="failed", error=exc.message[:500])
                if in_a_row >= GIVE_UP_AFTER:
                    break
                continue
            in_a_row = 0
            if answer.status == "not_modified" and stored:
                self.store.save_model(mid, status="ok", name=stored["name"], versions=stored["versions"],
                                      etag=stored["etag"])
            elif answer.status == "ok":
                self.store.save_model(mid, status="ok", name=str(answer.data.get("name") or "")[:500] or None,
                                      versions=summarise(answer.data), etag=answer.etag)
            else:
                self.store.save_model(mid, status="not_found")
            self.progress = {"done": self.progress["done"] + 1, "total": len(model_ids)}
        with_updates = self.recompute(links)
        self.last = {"models": len(model_ids), "loras": len(links), "failed": failed, "with_updates": with_updates,
                     "error": error, "finished_at": datetime.now(timezone.utc).isoformat()}
        self.publish({"type": "civitai.updates", **self.last})
        return self.last

    def recompute(self, links=None) -> int:
        """Each LoRA's flag from the stored versions (no network); returns how many have an update."""
        links = self.store.links() if links is None else links
        models = self.store.models(sorted({link.model_id for link in links}))
        rows = []
        for link in links:
            model = models.get(link.model_id)
            if model is None or model["status"] == "not_found":
                continue
            later = newer(model["versions"], link.version_id)
            rows.append({"lora_id": link.lora_id, "model_id": link.model_id, "version_id": link.version_id,
                         "newest_version_id": model["versions"][0]["id"] if model["versions"] else None,
                         "newer": len(later)})
        self.store.set_flags(rows)
        return sum(1 for r in rows if r["newer"])

    # --- in the background ------------------------------------------------------------------------
    def start_check(self) -> dict[str, Any]:
        """A check now, in its own thread (one at a time); the answer is the status."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._safely, name="lora-manager-civitai-updates", daemon=True)
                self._thread.start()
        return self.status()

    def start_background(self, first_delay_s: float = FIRST_CHECK_DELAY_S) -> threading.Thread | None:
        """Check when the last check is older than `hours` (never with 0), first after `first_delay_s`."""
        if self.hours <= 0:
            return None

        def run() -> None:
            wait = first_delay_s
            while not self._stop.wait(wait):
                due = self.next_check_at()
                now = datetime.now(timezone.utc)
                if due is None or due <= now:
                    self._safely()
                    due = now + timedelta(hours=self.hours)
                wait = max(60.0, (due - datetime.now(timezone.utc)).total_seconds())

        thread = threading.Thread(target=run, name="lora-manager-civitai-update-timer", daemon=True)
        thread.start()
        return thread

    def _safely(self) -> None:
        try:
            self.check()
        except Exception:  # a failed check is tried again at the next turn; nothing else stops
            log.exception("the Civitai update check failed")

    def close(self) -> None:
        self._stop.set()

    # --- reading ----------------------------------------------------------------------------------
    def next_check_at(self) -> datetime | None:
        last = self.store.last_checked()
        return None if last is None else last + timedelta(hours=self.hours)

    def status(self) -> dict[str, Any]:
        running = self._thread is not None and self._thread.is_alive()
        last = self.store.last_checked()
        due = self.next_check_at() if self.hours > 0 else None
        return {"running": running, "progress": dict(self.progress) if running else None,
                "last_checked_at": last.isoformat() if last else None,
                "next_check_at": due.isoformat() if due else None, "every_hours": self.hours, "last": self.last}

    def items(self, *, only_newer: bool = True, lora: str | None = None) -> list[dict[str, Any]]:
        """LoRAs with their Civitai versions: the newer ones and the whole list."""
        lora_id = self.library.resolve(lora) if lora else None
        flags = self.store.flags(only_newer=only_newer and lora_id is None, lora_id=lora_id)
        if lora_id is not None and not flags:
            raise NotFound("this LoRA names no Civitai model in its sidecars, or no check has run yet")
        models = self.store.models(sorted({f["model_id"] for f in flags}))
        out = []
        for f in flags:
            model = models.get(f["model_id"]) or {"versions": [], "name": None, "status": "failed"}
            current = next((v for v in model["versions"] if v["id"] == f["version_id"]), None)
            out.append({"lora": {"id": f["lora_id"], "prompt_name": f["prompt_name"], "file_name": f["file_name"],
                                 "path": f["path"]},
                        "model_id": f["model_id"], "model_name": model.get("name"), "version_id": f["version_id"],
                        "version_name": current["name"] if current else None, "newer": newer(model["versions"],
                                                                                             f["version_id"]),
                        "versions": model["versions"], "checked_at": f["checked_at"].isoformat()})
        return out


def _date_text(value: Any) -> str | None:
    return value[:40] if isinstance(value, str) and _when(value) is not None else None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
