"""Civitai's public REST API: the three reads LoRA Manager makes, made politely.

Every request waits for its turn (`Pace`: at most `rate` requests a second, shared by all threads),
and a 429, a 5xx, a timeout or a dropped connection is tried again with exponential backoff and
jitter (tenacity), waiting at least what `Retry-After` asks. A 404 is an answer ("not on Civitai"),
not an error. The API key goes only to Civitai's API (`/api/` under the base URL, as
`Authorization: Bearer`), never to an image host, a log line or an error message.
"""

from __future__ import annotations

import logging
import threading
from contextlib import closing
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import orjson
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential, wait_random

from .. import __version__
from ..errors import LoraManagerError

log = logging.getLogger(__name__)
ATTEMPTS = 5
MAX_WAIT_S = 120.0  # a Retry-After beyond this is capped: a bulk fetch is stopped by failures, not parked
MAX_JSON_BYTES = 32 << 20
BACKOFF_S = 1.0  # the first retry's wait; doubles each try, up to 30 s


class CivitaiUnavailable(LoraManagerError):
    """Civitai could not be asked (network, timeouts, 5xx or 429 through every retry, a refusal)."""

    status = 502
    code = "civitai_unavailable"


class Stopped(Exception):
    """The caller asked to stop while a request waited for its turn or a retry."""


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(slots=True)
class Answer:
    status: str  # ok | not_modified | not_found
    data: dict[str, Any] | None = None
    etag: str | None = None


class Pace:
    """At most `per_second` starts a second across threads: each caller takes the next free slot."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, stop: threading.Event) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now and stop.wait(slot - now):
            raise Stopped()

    def hold(self, seconds: float) -> None:
        """No request starts for `seconds` (the server said Retry-After)."""
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


def retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (a number or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, min(float(value), MAX_WAIT_S))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), MAX_WAIT_S))


def _wait(backoff) -> Any:
    """tenacity's wait: the larger of the backoff and what the server asked for."""

    def wait(state) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = exc.retry_after if isinstance(exc, _Transient) and exc.retry_after is not None else 0.0
        return max(backoff(state), asked)

    return wait


class CivitaiClient:
    """One HTTP client over Civitai's API at `base_url`; thread-safe; `close()` when done."""

    def __init__(self, base_url: str, *, key: str = "", rate: float = 2.0, timeout: float = 30.0,
                 attempts: int = ATTEMPTS, backoff_s: float | None = None, stop: threading.Event | None = None):
        self.base_url = base_url.rstrip("/")
        self._key = key
        self.pace = Pace(rate)
        self.attempts = max(1, attempts)
        self.backoff_s = BACKOFF_S if backoff_s is None else backoff_s
        self.stop = stop or threading.Event()
        self.requests = 0  # every HTTP request sent, retries included
        self.retries = 0
        self._count = threading.Lock()
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=2)
        self._http = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), limits=limits,
                                  headers={"User-Agent": f"lora-manager/{__version__}"}, follow_redirects=True)

    def __repr__(self) -> str:  # never the key
        return f"CivitaiClient({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    # --- the reads ------------------------------------------------------------------------------
    def version_by_hash(self, digest: str, etag: str | None = None) -> Answer:
        return self._json(f"/api/v1/model-versions/by-hash/{quote(digest.upper(), safe='')}", etag)

    def version(self, version_id: int, etag: str | None = None) -> Answer:
        return self._json(f"/api/v1/model-versions/{int(version_id)}", etag)

    def model(self, model_id: int, etag: str | None = None) -> Answer:
        return self._json(f"/api/v1/models/{int(model_id)}", etag)

    def download(self, url: str, write, max_bytes: int) -> str:
        """Stream `url` (an image or a video) into `write(chunk)`; returns its content type.
        No key is sent to an image host. Over `max_bytes` stops with CivitaiUnavailable."""

        def once() -> str:
            with closing(self._send("GET", url, {})) as r:
                if r.status_code != 200:
                    raise CivitaiUnavailable(f"the image answered HTTP {r.status_code}")
                got = 0
                for chunk in r.iter_bytes(1 << 16):
                    got += len(chunk)
                    if got > max_bytes:
                        raise CivitaiUnavailable(f"the image is over {max_bytes >> 20} MiB")
                    write(chunk)
                return r.headers.get("content-type", "").split(";", 1)[0].strip().lower()

        return self._retrying(once, what="the image")

    def open(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """One paced GET of `url`, streamed and not following redirects, for the caller to read and
        close: a model download follows Civitai's redirect and retries with Range itself
        (civitai/stream.py). The key goes to Civitai's API only. A network failure is CivitaiUnavailable."""
        self.pace.wait(self.stop)
        headers = dict(headers or {})
        if self._key and self._is_api(url):
            headers["Authorization"] = f"Bearer {self._key}"
        with self._count:
            self.requests += 1
        try:
            return self._http.send(self._http.build_request("GET", url, headers=headers), stream=True,
                                   follow_redirects=False)
        except httpx.TimeoutException:
            raise CivitaiUnavailable("timed out", {"reason": "timeout"}) from None
        except httpx.TransportError as exc:
            raise CivitaiUnavailable(f"cannot connect ({type(exc).__name__})", {"reason": "connect"}) from None

    # --- plumbing -------------------------------------------------------------------------------
    def _json(self, path: str, etag: str | None) -> Answer:
        url = self.base_url + path
        headers = {"Accept": "application/json"}
        if etag:
            headers["If-None-Match"] = etag

        def once() -> Answer:
            with closing(self._send("GET", url, headers)) as r:
                body = r.read()  # read whole (capped by MAX_JSON_BYTES below): the connection stays reusable
                if r.status_code == 304:
                    return Answer("not_modified", None, etag)
                if r.status_code == 404:
                    return Answer("not_found")
                if r.status_code in (401, 403):
                    raise CivitaiUnavailable(f"Civitai refused the request (HTTP {r.status_code}): check "
                                             f"LORA_MANAGER_CIVITAI_KEY", {"status": r.status_code})
                if r.status_code != 200:
                    raise CivitaiUnavailable(f"Civitai answered HTTP {r.status_code}", {"status": r.status_code})
                if len(body) > MAX_JSON_BYTES:
                    raise CivitaiUnavailable("Civitai's answer is too large")
                try:
                    data = orjson.loads(body)
                except orjson.JSONDecodeError:
                    raise _Transient("Civitai's answer is not JSON (a proxy's page?)") from None
                if not isinstance(data, dict):
                    raise CivitaiUnavailable("Civitai's answer is not a JSON object")
                return Answer("ok", data, r.headers.get("etag"))

        return self._retrying(once, what=path.split("/")[3])

    def _send(self, method: str, url: str, headers: dict[str, str]) -> httpx.Response:
        """Wait for a turn, then send; a failure worth retrying becomes _Transient."""
        self.pace.wait(self.stop)
        if self._key and self._is_api(url):
            headers = {**headers, "Authorization": f"Bearer {self._key}"}
        with self._count:
            self.requests += 1
        try:
            request = self._http.build_request(method, url, headers=headers)
            response = self._http.send(request, stream=True)
        except httpx.TimeoutException:
            raise _Transient("timed out") from None
        except httpx.TransportError as exc:
            raise _Transient(f"cannot connect ({type(exc).__name__})") from None
        if response.status_code == 429 or response.status_code >= 500:
            asked = retry_after(response.headers.get("retry-after"))
            with closing(response):
                if int(response.headers.get("content-length") or 0) < 65536:
                    response.read()  # a short error page: read, so the connection is kept
            if asked:
                self.pace.hold(asked)
            raise _Transient(f"HTTP {response.status_code}", asked)
        return response

    def _is_api(self, url: str) -> bool:
        base, target = urlsplit(self.base_url), urlsplit(url)
        return (target.scheme, target.netloc) == (base.scheme, base.netloc) and target.path.startswith(
            base.path.rstrip("/") + "/api/")

    def _retrying(self, fn, what: str):
        backoff = wait_exponential(multiplier=self.backoff_s, max=30.0) + wait_random(0, self.backoff_s)  # with jitter

        def sleep(seconds: float) -> None:
            with self._count:
                self.retries += 1
            if self.stop.wait(seconds):
                raise Stopped()

        retrying = Retrying(stop=stop_after_attempt(self.attempts), wait=_wait(backoff), sleep=sleep,
                            retry=retry_if_exception_type(_Transient), reraise=False)
        try:
            return retrying(fn)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            reason = last.reason if isinstance(last, _Transient) else str(last)
            raise CivitaiUnavailable(f"cannot reach Civitai at {self.base_url} for {what} after {self.attempts} "
                                     f"tries: {reason}", {"reason": reason}) from None
