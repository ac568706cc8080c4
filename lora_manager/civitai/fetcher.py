"""One LoRA's Civitai record: ask by SHA-256, fall back to AutoV2, store, then write the sidecar and preview.

Used by the service for one run (CivitaiService.run); one Fetcher per run, in one thread.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from ..settings import Settings
from ..storage.civitai_store import CivitaiStore, LoraTarget, Stored, utcnow
from .client import Answer, CivitaiUnavailable
from .facts import image_level, pick_preview, trim_model
from .previews import fetch_preview
from .sidecar import write_info


@dataclass(slots=True)
class Outcome:
    id: int
    path: str | None
    outcome: str  # found | not_found | failed
    reason: str | None = None
    version_id: int | None = None
    model_id: int | None = None
    matched_by: str | None = None
    cached: bool = False  # answered from what was stored, without asking Civitai
    sidecar: str | None = None
    preview: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def autov2_matches(version: dict[str, Any], sha256: str) -> bool:
    """An AutoV2 answer is ours only if a file of the version has our AutoV2 and no other SHA-256:
    ten hex digits can collide, a full hash cannot."""
    for f in version.get("files") or ():
        hashes = {str(k).lower(): str(v).lower() for k, v in ((f or {}).get("hashes") or {}).items()}
        if hashes.get("autov2") == sha256[:10] and hashes.get("sha256", sha256) == sha256:
            return True
    return False


class Fetcher:
    def __init__(self, store: CivitaiStore, settings: Settings, client, *, refresh: bool, explicit: bool,
                 write_lock: threading.Lock | None = None):
        self.store = store
        self.settings = settings
        self.client = client
        self.refresh = refresh
        self.explicit = explicit  # LoRAs named by the user: a refresh asks again even about a recent "not found"
        self.lock = write_lock
        self.cutoff: datetime = utcnow() - timedelta(days=settings.civitai_recheck_days)
        self._models_done: set[int] = set()  # a model is asked for once per run
        self._hashes_done: dict[str, Outcome] = {}  # duplicates in one run: one question
        self.written: dict[int, str] = {}  # LoRAs whose sidecar or preview was written: {id: sha256}

    def one(self, t: LoraTarget) -> Outcome:
        """Never raises for Civitai's or a file's sake (CivitaiUnavailable and Stopped go up to the run)."""
        if t.state != "ok":
            return Outcome(t.id, t.path, "failed", f"not a LoRA on disk (state {t.state})")
        if not t.sha256:
            return Outcome(t.id, t.path, "failed", "not hashed yet: the background hasher has not reached it")
        done = self._hashes_done.get(t.sha256)
        if done is not None:
            out = Outcome(t.id, t.path, done.outcome, done.reason, done.version_id, done.model_id, done.matched_by,
                          True)
        else:
            out = self._resolve(t)
            self._hashes_done[t.sha256] = out
        if out.outcome == "found":
            self._files(t, out)
            if not out.cached:  # copies of the file elsewhere share the record: their files too
                for other in self.store.same_hash(t.sha256):
                    if other.id != t.id:
                        self._files(other, Outcome(other.id, other.path, "found", None, out.version_id, out.model_id))
        return out

    # --- the question ---------------------------------------------------------------------------
    def _resolve(self, t: LoraTarget) -> Outcome:
        sha = t.sha256 or ""
        known = self.store.lookup(sha)
        if known is not None and known["status"] == "found" and known["version_id"]:
            if not self.refresh:
                return self._found(t, known["version_id"], known["matched_by"], cached=True)
            return self._refresh(t, known["version_id"], known["matched_by"])
        if known is not None and known["status"] == "not_found" and known["checked_at"] >= self.cutoff \
                and not (self.refresh and self.explicit):
            return Outcome(t.id, t.path, "not_found", "not on Civitai (remembered)", cached=True)
        answer, matched = self.client.version_by_hash(sha), "sha256"
        if answer.status == "not_found":
            answer, matched = self.client.version_by_hash(sha[:10]), "autov2"
            if answer.status == "ok" and not autov2_matches(answer.data or {}, sha):
                answer = Answer("not_found")
        if answer.status != "ok" or not isinstance((answer.data or {}).get("id"), int):
            self.store.save_not_found(sha)
            return Outcome(t.id, t.path, "not_found", "not on Civitai")
        return self._save(t, Stored(answer.data, answer.etag, utcnow()), matched)

    def _refresh(self, t: LoraTarget, version_id: int, matched_by: str | None) -> Outcome:
        stored = self.store.version(version_id)
        answer = self.client.version(version_id, etag=stored.etag if stored else None)
        if answer.status == "not_found":  # taken down since
            self.store.save_not_found(t.sha256 or "")
            return Outcome(t.id, t.path, "not_found", "no longer on Civitai")
        if answer.status == "ok" and isinstance((answer.data or {}).get("id"), int):
            version = Stored(answer.data or {}, answer.etag, utcnow())
        elif stored is not None:  # not modified (or an answer without an id: the stored record stands)
            version = Stored(stored.data, stored.etag, utcnow())
        else:
            return Outcome(t.id, t.path, "failed", "Civitai's answer has no version id")
        return self._save(t, version, matched_by or "sha256")

    def _save(self, t: LoraTarget, version: Stored, matched_by: str) -> Outcome:
        model_id = version.data.get("modelId")
        model = self._model(model_id)
        self.store.save_found(t.sha256 or "", matched_by, version, model)
        return Outcome(t.id, t.path, "found", None, int(version.data["id"]),
                       model_id if isinstance(model_id, int) else None, matched_by)

    def _model(self, model_id: Any) -> Stored | None:
        if not isinstance(model_id, int):
            return None
        stored = self.store.model(model_id)
        if model_id in self._models_done or (stored is not None and not self.refresh):
            return stored
        self._models_done.add(model_id)
        answer = self.client.model(model_id, etag=stored.etag if stored else None)
        if answer.status == "ok":
            return Stored(trim_model(answer.data or {}), answer.etag, utcnow())
        if answer.status == "not_modified" and stored is not None:
            return Stored(stored.data, stored.etag, utcnow())
        return stored  # the model is gone, or never stored: the version alone stands

    def _found(self, t: LoraTarget, version_id: int, matched_by: str | None, *, cached: bool) -> Outcome:
        version = self.store.version(version_id)
        model_id = version.data.get("modelId") if version else None
        return Outcome(t.id, t.path, "found", None, version_id, model_id if isinstance(model_id, int) else None,
                       matched_by, cached)

    # --- the files ------------------------------------------------------------------------------
    def _files(self, t: LoraTarget, out: Outcome) -> None:
        """The sidecar and the preview of this LoRA (each file with this hash is dealt with by its own target)."""
        if not (self.settings.civitai_sidecars or self.settings.civitai_previews):
            out.sidecar = out.preview = "off"
            return
        version = self.store.version(out.version_id or 0)
        if version is None:
            return
        model = self.store.model(out.model_id) if out.model_id else None
        if self.settings.civitai_sidecars:
            # A record answered from the store rewrites nothing of ours; a fresh answer refreshes our file.
            picked = pick_preview(version.data.get("images"), self.settings.civitai_nsfw_level)
            out.sidecar = write_info(t.path, version.data, model.data if model else None, replace_ours=not out.cached,
                                     known_sidecars=t.sidecars, lock=self.lock,
                                     preview_level=image_level(picked) if picked else None)
        else:
            out.sidecar = "off"
        if self.settings.civitai_previews:
            try:
                out.preview = fetch_preview(self.client, t.path, version.data,
                                            max_level=self.settings.civitai_nsfw_level, lock=self.lock)
            except CivitaiUnavailable as exc:  # the record stands; the preview is tried again on a later fetch
                out.preview = f"failed: {exc.message}"
        else:
            out.preview = "off"
        if (out.sidecar == "written" or (out.preview or "").startswith("written")) and t.sha256:
            self.written[t.id] = t.sha256
