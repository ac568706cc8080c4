"""A daemon thread that works in rounds while it is woken: the hasher and the training tags pass.

`wake()` starts the thread, or makes a running one go round once more (a scan may have changed rows
the round had already gone by); the thread exits after a round that began after the last wake, so
nothing runs while there is nothing to do. A wake that comes while the thread is on its way out
starts a new one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Rounds:
    thread_name = "lora-manager-background"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wakeups = 0
        self._exiting = False

    def wake(self) -> None:
        """Do whatever waits; start the thread if it is not running (a running one goes round again)."""
        with self._lock:
            self._wakeups += 1
            if self._thread is None or not self._thread.is_alive() or self._exiting:
                self._stop.clear()
                self._exiting = False
                self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
                self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the work has ended (True) or the timeout passes (False); a thread started by a
        wake meanwhile is waited for too."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            thread = self._thread
            if thread is None or not thread.is_alive():
                return True
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining if remaining is not None else 1.0)
            if deadline is not None and time.monotonic() >= deadline:
                return not thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self.wait(30)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        raise NotImplementedError

    def _rounds(self, one_round: Callable[[bool], None]) -> None:
        """Call `one_round(first)` until a round ends with no wake since it began, or a stop."""
        first = True
        while not self._stop.is_set():
            with self._lock:
                seen = self._wakeups
            one_round(first)
            first = False
            with self._lock:
                if self._wakeups == seen or self._stop.is_set():
                    self._exiting = True  # a wake from now on starts a new thread
                    return
