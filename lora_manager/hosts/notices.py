"""Changes made on one host reach the others within seconds: PostgreSQL LISTEN/NOTIFY.

Every `library_changed` said on this host (scans, file operations, edits, downloads) is sent as one
NOTIFY on the library's channel by a thread of its own (never the request's or the host's thread;
changes said meanwhile go out together). A second thread LISTENs on a connection of its own and,
for a notice from another host, says the change on this host's EventBus (the host's LoRA list, the
recommender, cached pages) and streams a `library.changed` event to the tab. No table is polled.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

import orjson

log = logging.getLogger(__name__)
MAX_IDS = 500  # more ids than this travel as "many LoRAs changed"


class Notices:
    def __init__(self, store, host_id: str, events, db):
        self.store = store
        self.host = host_id
        self.events = events
        self.db = db
        self._out: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._relaying = threading.local()
        self._threads: list[threading.Thread] = []
        self.received = 0
        self.ready = threading.Event()  # set once this host listens
        self.sent = 0

    def start(self) -> None:
        self.events.on_library_changed(self._local, inline=True)  # only queues: no I/O on the caller's thread
        for target, name in ((self._send, "lora-manager-notify"), (self._listen, "lora-manager-listen")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        self._out.put(None)
        for thread in self._threads:
            thread.join(timeout)

    def _local(self, change) -> None:
        if getattr(self._relaying, "on", False):
            return  # another host's change, said here: not sent back
        self._out.put(change)

    def _send(self) -> None:
        while not self._stop.is_set():
            first = self._out.get()
            if first is None:
                return
            batch = [first]
            while True:
                try:
                    more = self._out.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._stop.set()
                    break
                batch.append(more)
            for payload in self._payloads(batch):
                try:
                    self.store.notify(orjson.dumps(payload).decode())
                    self.sent += 1
                except Exception:  # the other hosts miss one notice; their next look at the library is current
                    log.warning("could not send a change notice to the other hosts", exc_info=True)

    def _payloads(self, batch: list) -> list[dict]:
        """One notice for the batch: files changed (every id in it), or the LoRAs edited; the LoRAs a background
        pass filled in go in one of their own (no one's edit: no write-back on the other hosts either)."""
        if any(c.files for c in batch):
            return [{"host": self.host, "files": True, "ids": None, "filled": False}]
        out = []
        for filled in (False, True):
            ids = sorted({i for c in batch if c.filled is filled for i in c.ids})
            if ids:
                out.append({"host": self.host, "files": False, "ids": ids if len(ids) <= MAX_IDS else None,
                            "filled": filled})
        return out

    def _listen(self) -> None:
        while not self._stop.is_set():
            conn = None
            try:
                conn = self.store.listen()
                self.ready.set()
                while not self._stop.is_set():
                    for note in conn.notifies(timeout=0.5):
                        self._relay(note.payload)
            except Exception:
                if self._stop.is_set():
                    return
                log.warning("change notices from other hosts interrupted; listening again", exc_info=True)
                self._stop.wait(2.0)
            finally:
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # already broken
                        pass

    def _relay(self, raw: str) -> None:
        try:
            note = orjson.loads(raw)
            host = str(note["host"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("ignored a malformed change notice")
            return
        if host == self.host:
            return
        self.received += 1
        self.db.write_version += 1  # pages and indexes cached here are stale now (ttl_cache.py)
        ids = note.get("ids")
        files = bool(note.get("files")) or ids is None
        self._relaying.on = True
        try:
            self.events.library_changed(None if files else [int(i) for i in ids], filled=note.get("filled") is True)
        finally:
            self._relaying.on = False
        self.events.publish({"type": "library.changed", "host": host, "files": files,
                             "ids": None if files else ids, "received_at": round(time.time(), 3)})
