"""One model file from Civitai into a partial file, resumable, checked against Civitai's SHA-256.

Civitai answers `/api/download/models/{versionId}` with a redirect to a signed URL on a delivery
host; we follow it ourselves (at most 5 hops), so the API key, sent to Civitai's `/api/` only,
never reaches the delivery host. A partial file is continued with `Range: bytes=N-` after a pause,
a restart or a dropped connection; each try starts again at Civitai's URL (signed URLs expire).
A server that ignores the range (200) or answers another one starts the file again. The SHA-256 is
computed as bytes arrive (a resumed file's first part is read back once) and compared at the end:
a mismatch deletes the partial file. 401/403 (a model behind a login or early access), 404, a web
page instead of the file, and a full disk each end the download with their own message.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import threading
from collections.abc import Callable
from contextlib import closing
from urllib.parse import urljoin, urlsplit

from ..errors import LoraManagerError

CHUNK = 1 << 20
MAX_REDIRECTS = 5
_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class DownloadError(LoraManagerError):
    """A download ended; `kind` says why (gated, not_found, disk_full, hash_mismatch, unreachable,
    not_a_lora, exists, invalid)."""

    status = 502
    code = "download_failed"

    def __init__(self, kind: str, message: str, details: dict | None = None):
        super().__init__(message, {"kind": kind, **(details or {})})
        self.kind = kind


class Interrupted(Exception):
    """Paused or cancelled by the user, or stopped with the server: the partial file stays (not cancelled)."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why  # paused | cancelled | stopped


class Control:
    """How the queue talks to a running download: pause, cancel, stop, and progress."""

    def __init__(self, on_progress: Callable[[int, int | None], None] | None = None):
        self.why: str | None = None
        self.response = None  # the body being read, if any
        self._wake = threading.Event()
        self.on_progress = on_progress or (lambda done, total: None)

    def interrupt(self, why: str) -> None:
        if self.why != "cancelled":  # a cancel is never turned back into a pause
            self.why = why
        self._wake.set()
        response = self.response
        if response is not None:
            _shutdown(response)  # a read waiting for bytes ends now, not at the next chunk or the timeout

    def check(self) -> None:
        if self.why:
            raise Interrupted(self.why)

    def sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self.check()


def fetch(client, url: str, part: str, *, sha256: str, control: Control, attempts: int = 5,
          backoff_s: float = 1.0) -> int:
    """Download `url` into `part` (continuing what is there) and check its SHA-256; returns its size.
    Raises DownloadError or Interrupted; a failure other than a pause leaves no partial file behind
    when the bytes are known bad (hash) or the disk is full."""
    got = _Got(hashlib.sha256())
    got.done = _read_back(part, got.digest, control)
    failures = 0
    while True:
        control.check()
        before = got.done
        try:
            _one_try(client, url, part, got, control)
            if got.total is None or got.done >= got.total:
                break
            raise _Retry(f"the connection dropped at {got.done} of {got.total} bytes")
        except _Retry as exc:
            failures = 0 if got.done > before else failures + 1  # progress made: the count starts again
            if failures >= attempts:
                raise DownloadError("unreachable", f"cannot download from Civitai after {attempts} tries: {exc}; "
                                    "resume it later") from None
            control.sleep(min(30.0, backoff_s * 2 ** max(0, failures - 1)))
    if got.total is not None and got.done != got.total:
        _discard(part)
        raise DownloadError("hash_mismatch",
                            f"the file is {got.done} bytes, Civitai said {got.total}; nothing was kept")
    if got.digest.hexdigest() != sha256.lower():
        _discard(part)
        raise DownloadError("hash_mismatch", "the downloaded file's SHA-256 does not match Civitai's: it was "
                            "deleted and nothing was added to the library; try again later",
                            {"expected": sha256.lower(), "got": got.digest.hexdigest()})
    return got.done


class _Got:
    """What has arrived so far: bytes in the partial file, their running hash, the size the server said."""

    def __init__(self, digest):
        self.digest = digest
        self.done = 0
        self.total: int | None = None

    def restart(self) -> None:
        self.digest, self.done = hashlib.sha256(), 0


class _Retry(Exception):
    pass


def _read_back(part: str, digest, control: Control) -> int:
    """Hash what an earlier try left in `part`; its size is where to continue."""
    if not os.path.exists(part):
        return 0
    done = 0
    with open(part, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            control.check()
    return done


def _one_try(client, url: str, part: str, got: _Got, control: Control) -> None:
    """One request (with its redirects) and as much of the body as comes, into `got` and `part`."""
    from .client import CivitaiUnavailable

    headers = {"Range": f"bytes={got.done}-"} if got.done else {}
    try:
        response = _open_following(client, url, headers)
    except CivitaiUnavailable as exc:
        raise _Retry(exc.message) from None
    control.response = response
    with closing(response):
        status = response.status_code
        if status == 416 and got.done:  # nothing past what we have: all of it, or a stale partial file
            if _total_of_416(response.headers.get("content-range", "")) == got.done:
                got.total = got.done
                return
            _discard(part)
            got.restart()
            raise _Retry("the partial file did not fit the server's; starting again")
        _refuse(response)
        got.total = _int(response.headers.get("content-length"))
        if status == 206:
            m = _RANGE.match(response.headers.get("content-range", ""))
            if not m or int(m.group(1)) != got.done:
                _discard(part)
                got.restart()
                raise _Retry("the server answered another range; starting again")
            got.total = int(m.group(3)) if m.group(3) != "*" else None
        else:  # 200: the whole file, also when a range was asked for and ignored
            got.restart()
            _truncate(part)
        try:
            with open(part, "ab") as f:
                try:
                    for chunk in response.iter_bytes():  # as they arrive: a drop loses nothing received
                        f.write(chunk)
                        got.digest.update(chunk)
                        got.done += len(chunk)
                        control.on_progress(got.done, got.total)
                        control.check()
                except Exception as exc:  # a dropped or broken connection: keep what arrived, continue later
                    if not _is_transport(exc):
                        raise
                    control.check()  # the connection was ended by a pause or a cancel
                    raise _Retry(f"the connection dropped ({type(exc).__name__})") from None
                finally:
                    control.response = None
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                _discard(part)
                raise disk_full(part, got.total) from None
            raise


def _open_following(client, url: str, headers: dict[str, str]):
    for _ in range(MAX_REDIRECTS + 1):
        response = client.open(url, headers)
        if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("location"):
            location = response.headers["location"]
            response.close()
            url = urljoin(url, location)
            if urlsplit(url).scheme not in ("http", "https"):
                raise DownloadError("unreachable", "Civitai redirected the download to a non-HTTP address")
            continue
        return response
    raise DownloadError("unreachable", f"more than {MAX_REDIRECTS} redirects")


def _refuse(response) -> None:
    """Statuses and answers that end the download (or are retried: 429, 5xx)."""
    status = response.status_code
    if status in (401, 403):
        raise DownloadError("gated", f"Civitai refused the download (HTTP {status}): the model needs a logged-in "
                            "account or is in early access; set LORA_MANAGER_CIVITAI_KEY to a key of an account "
                            "allowed to download it", {"status": status})
    if status == 404:
        raise DownloadError("not_found", "Civitai has no file for this version (HTTP 404): it was removed, or the "
                            "id is wrong", {"status": status})
    if status == 429 or status >= 500:
        raise _Retry(f"HTTP {status}")
    if status not in (200, 206):
        raise DownloadError("unreachable", f"Civitai answered the download with HTTP {status}", {"status": status})
    ctype = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype in ("text/html", "application/json"):
        raise DownloadError("gated", "Civitai answered with a page instead of the file (a login or early-access "
                            "page?); set LORA_MANAGER_CIVITAI_KEY", {"content_type": ctype})


def disk_full(path: str, needed: int | None) -> DownloadError:
    """The message of a full disk where `path` was being written (the caller removes what it wrote)."""
    folder = os.path.dirname(path)
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    said = f"{free / 2**20:.1f} MiB free" if free is not None else "no space left"
    need = f"; the file needs {needed / 2**20:.1f} MiB" if needed else ""
    return DownloadError("disk_full", f"disk full: {folder} has {said}{need}. Nothing was kept; make room and "
                         "download again", {"folder": folder, "free": free})


def _shutdown(response) -> None:
    """End the connection under `response` from another thread (closing alone would not wake a read)."""
    import socket

    try:
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError):
        pass  # gone already


def _is_transport(exc: Exception) -> bool:
    import httpx

    return isinstance(exc, (httpx.TransportError, httpx.StreamError))


def _total_of_416(value: str) -> int | None:
    m = re.match(r"^bytes \*/(\d+)$", value.strip())
    return int(m.group(1)) if m else None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _truncate(part: str) -> None:
    with open(part, "wb"):
        pass


def _discard(part: str) -> None:
    try:
        os.unlink(part)
    except FileNotFoundError:
        pass
