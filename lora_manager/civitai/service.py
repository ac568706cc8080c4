"""Civitai fetches in the background: one run at a time, progress on the EventBus, a status for the API.

A run takes LoRAs by id (`ids`) or every hashed LoRA whose hash has no record (`all_missing`, walked by
id in pages, so a stopped run resumes where the records end). Nothing runs at start-up and nothing on
the host's threads: `start()` hands the run to a daemon thread; the CLI calls `run()` itself. httpx
is imported with the first run. Failures are not remembered: a LoRA that failed is asked about again
by the next run; after FAILURES_IN_A_ROW of them in a row the run stops (Civitai is down or refusing us).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import Conflict, LoraManagerError
from ..settings import Settings
from ..storage.civitai_store import CivitaiStore, LoraTarget

log = logging.getLogger(__name__)
PAGE = 200
FAILURES_IN_A_ROW = 5
EMIT_EVERY_S = 0.5
REREAD_PART = 1000  # sidecar versions picked again: LoRAs read per hold of the write lock

Publish = Callable[[dict[str, Any]], None]


class CivitaiService:
    def __init__(self, store: CivitaiStore, settings: Settings, publish: Publish | None = None, *,
                 resolve_many: Callable[[list[str]], list[int]] | None = None,
                 reread: Callable[[list[int], dict[int, str] | None], None] | None = None,
                 settle: Callable[[dict[int, str]], list[int]] | None = None,
                 write_lock: threading.Lock | None = None):
        self.store = store
        self.settings = settings
        self._publish = publish or (lambda event: None)
        self._resolve_many = resolve_many
        self._reread = reread  # read LoRAs' files again into the index (with their hashes as hints)
        self._settle = settle  # mark checked the version guesses a hash cannot change (storage/version_guesses.py)
        self._write_lock = write_lock
        # The sidecar version pick has looked at every LoRA once in this process (resolve_sidecar_versions).
        self._picked_all = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.progress: dict[str, Any] = {}
        self.last_run: dict[str, Any] | None = None
        self._last_emit = 0.0

    # --- control -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def resolve(self, keys: Iterable[str]) -> list[int]:
        """Keys (id, prompt name, file name, any hash form) -> LoRA ids; NotFound names the unknown one."""
        if self._resolve_many is None:
            return [int(k) for k in keys]
        return self._resolve_many(list(keys))

    def start(self, ids: list[int] | None = None, *, all_missing: bool = False, refresh: bool = False,
              reason: str = "api") -> dict[str, Any]:
        """Run in a daemon thread; Conflict when a run is going."""
        with self._lock:
            if self.running:
                raise Conflict("a Civitai fetch is already running", {"progress": self.progress})
            self._stop.clear()
            self.progress = _empty(all_missing, refresh, reason)
            self._thread = threading.Thread(target=self._work, args=(ids, all_missing, refresh, reason),
                                            name="lora-manager-civitai", daemon=True)
            self._thread.start()
        return self.status()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def status(self) -> dict[str, Any]:
        counts: dict[str, int] | None
        try:
            counts = self.store.counts(_cutoff(self.settings))
        except LoraManagerError:  # a database problem is reported by /system; the status still answers
            counts = None
        return {"running": self.running, "progress": dict(self.progress) if self.running else None,
                "last_run": self.last_run, "library": counts}

    # --- a run ---------------------------------------------------------------------------------
    def _work(self, ids, all_missing: bool, refresh: bool, reason: str) -> None:
        try:
            self.run(ids, all_missing=all_missing, refresh=refresh, reason=reason)
        except Exception as exc:  # reported in the status, the event stream and the log; the server goes on
            log.exception("Civitai fetch failed")
            message = exc.message if isinstance(exc, LoraManagerError) else f"{type(exc).__name__}: {exc}"
            self.last_run = {**self.progress, "status": "failed", "error": message[:500], "finished_at": time.time()}
            self._publish({"type": "civitai.failed", "error": message[:500]})

    def run(self, ids: list[int] | None = None, *, all_missing: bool = False, refresh: bool = False,
            reason: str = "cli", on_outcome: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Fetch now, in this thread; returns the run's report with one outcome per LoRA asked about."""
        from .client import CivitaiClient, CivitaiUnavailable, Stopped
        from .fetcher import Fetcher, Outcome

        s = self.settings
        self.progress = _empty(all_missing, refresh, reason)
        if all_missing:
            self.progress["total"] = self.store.lacking_count(_cutoff(s)) if not refresh else None
        else:
            self.progress["total"] = len(ids or [])
        self._publish({"type": "civitai.started", **self.progress})
        client = CivitaiClient(s.civitai_url, key=s.civitai_key, rate=s.civitai_rate, timeout=s.civitai_timeout,
                               stop=self._stop)
        fetcher = Fetcher(self.store, s, client, refresh=refresh, explicit=not all_missing, write_lock=self._write_lock)
        outcomes: list[dict[str, Any]] = []
        in_a_row = 0
        stopped: str | None = None
        try:
            for target in self._targets(ids, all_missing, refresh, fetcher.cutoff):
                if self._stop.is_set():
                    stopped = "stopped"
                    break
                self.progress["current"] = target.id
                try:
                    out = fetcher.one(target)
                    in_a_row = 0
                except CivitaiUnavailable as exc:
                    out = Outcome(target.id, target.path, "failed", exc.message)
                    in_a_row += 1
                except Stopped:
                    stopped = "stopped"
                    break
                except OSError as exc:  # a file we could not read or write: this LoRA only
                    out = Outcome(target.id, target.path, "failed", f"file error: {exc.strerror or exc}")
                except LoraManagerError as exc:  # the database, say: this LoRA, and the next ones tell
                    out = Outcome(target.id, target.path, "failed", exc.message[:500])
                    in_a_row += 1
                except Exception as exc:  # a bug on one odd answer must not end a run of 10k
                    log.exception("Civitai fetch of LoRA %s failed", target.id)
                    out = Outcome(target.id, target.path, "failed",
                                  f"internal error: {type(exc).__name__}: {exc}"[:500])
                self._count(out.as_dict(), client, outcomes, on_outcome)
                if in_a_row >= FAILURES_IN_A_ROW:
                    stopped = f"{in_a_row} failures in a row: {out.reason}"
                    break
        finally:
            client.close()
            if fetcher.written and self._reread is not None:
                try:
                    self._reread(sorted(fetcher.written), fetcher.written)
                except Exception:  # the index catches up at the next scan
                    log.exception("re-reading LoRAs after Civitai wrote their files failed")
        report = {**self.progress, "status": "stopped" if stopped else "finished", "stopped_reason": stopped,
                  "finished_at": time.time(), "current": None}
        self.last_run = report
        self._publish({"type": "civitai.finished", **report})
        return {**report, "results": outcomes}

    def _targets(self, ids, all_missing: bool, refresh: bool, cutoff) -> Iterator[LoraTarget]:
        if not all_missing:
            wanted = list(dict.fromkeys(ids or []))
            found = {t.id: t for t in self.store.targets(wanted)}
            for lid in wanted:
                yield found.get(lid) or LoraTarget(lid, "", "unknown", None)
            return
        after = 0
        while True:  # keyset pages: each LoRA once, and a LoRA recorded meanwhile is not asked about again
            page = self.store.lacking(cutoff, after=after, limit=PAGE, refresh=refresh)
            if not page:
                return
            yield from page
            after = page[-1].id

    def _count(self, out: dict[str, Any], client, outcomes: list, on_outcome) -> None:
        p = self.progress
        p["done"] += 1
        p[out["outcome"]] += 1
        p["requests"], p["retries"] = client.requests, client.retries
        if out["outcome"] == "failed":
            p["last_error"] = out["reason"]
        outcomes.append(out)
        if on_outcome is not None:
            on_outcome(out)
        now = time.monotonic()
        if now - self._last_emit >= EMIT_EVERY_S:
            self._last_emit = now
            self._publish({"type": "civitai.progress", **p})

    def resolve_sidecar_versions(self, ids: list[int] | None = None) -> list[int]:
        """Pick again, with each file's hash, the version of a Civitai model sidecar that was picked by name
        or as the first (after hashing; after a scan that read sidecars anew). Returns the ids read again,
        read in parts so that a file operation waiting for the write lock gets its turn between them.

        `ids`: the LoRAs to look at (None: every one). The first pick of this process, and the first after one
        that failed, looks at every LoRA whatever it is given: an earlier process (or the failed pick) may have
        left guesses that no later hash or scan names again."""
        whole = ids is None or not self._picked_all
        try:
            out = self._pick_versions(None if whole else ids)
        except Exception:
            self._picked_all = False  # what this pick was given is not kept: the next one looks at every LoRA
            raise
        if whole:
            self._picked_all = True
        return out

    def _pick_versions(self, ids: list[int] | None) -> list[int]:
        guesses = self.store.version_guesses(ids)
        if guesses and self._settle is not None:  # no version states this hash: the guess stands, no file read
            with self._write_lock or contextlib.nullcontext():
                settled = set(self._settle(guesses))
            guesses = {i: sha for i, sha in guesses.items() if i not in settled}
        ids = sorted(guesses)
        if self._reread is not None:
            for i in range(0, len(ids), REREAD_PART):
                part = ids[i : i + REREAD_PART]
                self._reread(part, {k: guesses[k] for k in part})
        return ids

    # --- reads ---------------------------------------------------------------------------------
    def civitai_facts(self, lora_id: int) -> dict[str, Any] | None:
        """The entry's `civitai` object (None: the LoRA's hash was never looked up)."""
        from .facts import civitai_object

        return civitai_object(self.store.record(lora_id), self.settings.civitai_url)


def _cutoff(settings: Settings):
    from datetime import timedelta

    from ..storage.civitai_store import utcnow

    return utcnow() - timedelta(days=settings.civitai_recheck_days)


def _empty(all_missing: bool, refresh: bool, reason: str) -> dict[str, Any]:
    return {"mode": "all_missing" if all_missing else "ids", "refresh": refresh, "reason": reason,
            "started_at": time.time(), "total": None, "done": 0, "found": 0, "not_found": 0, "failed": 0,
            "requests": 0, "retries": 0, "current": None, "last_error": None}
