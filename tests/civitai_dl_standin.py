"""Civitai's downloads for the stand-in: `/api/download/models/{versionId}` answers as Civitai does,
with a redirect (307) to a signed URL on a delivery host (here: another port, so another origin),
or 401 (login / early access) and 404 as asked. The delivery host serves the file with `Range`
(206, Content-Range, 416) and injects faults: a body cut short (the connection drops after N
bytes), other bytes than the file (a wrong hash), a range ignored (200 with the whole file), a hold
after N bytes until the test lets it go (to pause a download mid-body). Every request on either
host is recorded with its headers.
"""

from __future__ import annotations

import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson

from .civitai_standin import CivitaiStandin, _send


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that left (a pause) is no error
            super().handle_error(request, client_address)


class DownloadStandin(CivitaiStandin):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.blobs: dict[int, bytes] = {}  # version id -> the file's bytes
        self.refuse: dict[int, int] = {}  # version id -> 401 | 403 | 404 at the API
        self.cut: list[int] = []  # the next delivery answers stop after this many bytes (connection dropped)
        self.on_cut = lambda: None  # called as a cut happens (to make Civitai fail from then on)
        self.wrong: set[int] = set()  # version ids whose delivery sends other bytes
        self.ignore_range = False
        self.hold_at: int | None = None  # the next delivery waits after this many bytes until `release` is set
        self.held = threading.Event()  # set when a held delivery reached its byte
        self.release = threading.Event()
        self.html: set[int] = set()  # version ids answered with a web page (a login page) instead of the file
        self.delivery: list[tuple[str, dict[str, str]]] = []  # (path, headers) on the delivery host
        self._signed: dict[str, int] = {}
        self._delivery: ThreadingHTTPServer | None = None

    def serve(self, version_id: int, data: bytes) -> None:
        self.blobs[version_id] = data

    @property
    def delivery_url(self) -> str:
        assert self._delivery is not None
        host, port = self._delivery.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> DownloadStandin:
        super().__enter__()
        standin = self

        class Delivery(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 - http.server's name
                standin._deliver(self)

            def log_message(self, *args):
                pass

        self._delivery = _QuietServer(("127.0.0.1", 0), Delivery)
        self._delivery.daemon_threads = True
        threading.Thread(target=self._delivery.serve_forever, name="civitai-delivery", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        if self._delivery is not None:
            self._delivery.shutdown()
            self._delivery.server_close()
        super().__exit__(*exc)

    # --- the API's answer: a redirect ------------------------------------------------------------
    def _answer(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        if not path.startswith("/api/download/models/"):
            return super()._answer(h)
        self.requests.append(("GET", path, {k.lower(): v for k, v in h.headers.items()}))
        fault, after = self._fault_for(path)
        if fault is not None:
            extra = {"Retry-After": f"{after:g}"} if after is not None else {}
            return _send(h, fault, orjson.dumps({"error": "Server error"}), extra=extra)
        vid = int(path.rstrip("/").rsplit("/", 1)[1])
        if vid in self.refuse:
            status = self.refuse[vid]
            message = "Unauthorized" if status in (401, 403) else "Model not found"
            return _send(h, status, orjson.dumps({"error": message}))
        if vid in self.html:
            return _send(h, 200, b"<html><body>Log in to download</body></html>", "text/html; charset=utf-8")
        if vid not in self.blobs:
            return _send(h, 404, orjson.dumps({"error": "Model not found"}))
        token = secrets.token_hex(8)
        self._signed[token] = vid
        location = f"{self.delivery_url}/file/{token}/model.safetensors?X-Amz-Signature={secrets.token_hex(16)}"
        _send(h, 307, b"", extra={"Location": location})

    # --- the delivery host ---------------------------------------------------------------------
    def _deliver(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        self.delivery.append((path, {k.lower(): v for k, v in h.headers.items()}))
        parts = path.strip("/").split("/")
        vid = self._signed.get(parts[1]) if len(parts) >= 2 and parts[0] == "file" else None
        if vid is None:
            return _send(h, 403, b"<Error>AccessDenied</Error>", "application/xml")
        data = self.blobs[vid]
        if vid in self.wrong:
            data = bytes(b ^ 0x5A for b in data)
        start = 0
        wanted = h.headers.get("Range")
        if wanted and not self.ignore_range:
            start = int(wanted.removeprefix("bytes=").split("-", 1)[0])
            if start >= len(data):
                return _send(h, 416, b"", "application/octet-stream", extra={"Content-Range": f"bytes */{len(data)}"})
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            h.send_response(200)
        body = data[start:]
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Accept-Ranges", "bytes")
        h.end_headers()
        cut = self.cut.pop(0) if self.cut else None
        hold, self.hold_at = self.hold_at, None
        try:
            if hold is not None:
                h.wfile.write(body[:hold])
                h.wfile.flush()
                self.held.set()
                self.release.wait(30)
                body = body[hold:]
            if cut is not None:
                h.wfile.write(body[:cut])
                h.wfile.flush()
                h.close_connection = True  # the socket closes before Content-Length bytes came
                self.on_cut()
                return
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (a pause): as a real server, nothing to do
