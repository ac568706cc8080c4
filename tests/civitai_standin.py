"""A stand-in for Civitai's public API: a real HTTP server on 127.0.0.1, written from Civitai's
API reference (developer.civitai.com: models, model-versions, images; the shapes only).

It answers `GET /api/v1/model-versions/by-hash/{hash}` (SHA256 or AutoV2, any case),
`/api/v1/model-versions/{id}` and `/api/v1/models/{id}` as Civitai does (404 `{"error": ...}` for
what it does not know), serves images and videos under `/images/`, sends an ETag and answers
`If-None-Match` with 304, and injects faults on demand: 429 with Retry-After, 500s, answers slower
than the client's timeout, and 429s of its own when asked faster than `rate_limit` per second.
Every request is recorded (method, path, headers) for the tests to read.
"""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

PNG_1PX = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                        "0000000d4944415478da63f8cfc0f01f0005000201a5f6d1a70000000049454e44ae426082")


def make_file(name: str, sha256: str, *, primary: bool = True, file_id: int = 1, with_sha: bool = True) -> dict:
    hashes = {"AutoV1": sha256[:8].upper(), "AutoV2": sha256[:10].upper(), "CRC32": sha256[-8:].upper(),
              "BLAKE3": sha256[::-1].upper(), "AutoV3": sha256[-12:].upper()}
    if with_sha:
        hashes["SHA256"] = sha256.upper()
    return {"id": file_id, "name": name, "type": "Model", "sizeKB": 144.5,
            "metadata": {"format": "SafeTensor", "size": None, "fp": None},
            "pickleScanResult": "Success", "pickleScanMessage": "No Pickle imports", "virusScanResult": "Success",
            "virusScanMessage": None, "scannedAt": "2025-03-01T10:00:00.000Z", "hashes": hashes,
            "primary": primary, "downloadUrl": f"https://civitai.com/api/download/models/{file_id}"}


def make_image(url: str, *, level: int = 1, kind: str = "image", meta: dict | None = None, image_id: int = 1) -> dict:
    return {"url": url, "nsfwLevel": level, "width": 832, "height": 1216, "hash": "U9Cs~i~q00IU%MD%t7%M",
            "type": kind, "metadata": {"hash": "U9Cs~i~q00IU", "size": 1234, "width": 832, "height": 1216},
            "minor": False, "poi": False, "meta": meta, "availability": "Public", "hasMeta": meta is not None,
            "hasPositivePrompt": bool(meta and meta.get("prompt")), "onSite": False, "remixOfId": None, "id": image_id}


def make_version(version_id: int, model_id: int, files: list[dict], *, name: str = "v1.0", base: str = "SDXL 1.0",
                 words: list[str] | None = None, images: list[dict] | None = None, model_name: str = "A LoRA",
                 nsfw: bool = False, description: str | None = "<p>Version notes</p>") -> dict:
    return {"id": version_id, "modelId": model_id, "name": name, "nsfwLevel": 1,
            "createdAt": "2025-03-01T09:00:00.000Z", "updatedAt": "2025-03-02T09:00:00.000Z", "status": "Published",
            "publishedAt": "2025-03-01T12:00:00.000Z", "trainedWords": list(words or []), "trainingStatus": None,
            "trainingDetails": None, "baseModel": base, "baseModelType": "Standard", "earlyAccessEndsAt": None,
            "earlyAccessConfig": None, "description": description, "uploadType": "Created", "usageControl": "Download",
            "air": f"urn:air:sdxl:lora:civitai:{model_id}@{version_id}",
            "stats": {"downloadCount": 1200, "thumbsUpCount": 90},
            "model": {"name": model_name, "type": "LORA", "nsfw": nsfw, "poi": False},
            "files": files, "images": list(images or []),
            "downloadUrl": f"https://civitai.com/api/download/models/{version_id}"}


def make_model(model_id: int, versions: list[dict], *, name: str = "A LoRA", creator: str = "someone",
               tags: list[str] | None = None, description: str = "<p>About <b>this</b> LoRA</p>",
               nsfw: bool = False) -> dict:
    summaries = [{k: v for k, v in ver.items() if k not in ("model", "modelId", "air")} for ver in versions]
    return {"id": model_id, "name": name, "description": description, "allowNoCredit": True,
            "allowCommercialUse": ["Image"], "allowDerivatives": True, "allowDifferentLicense": True, "type": "LORA",
            "minor": False, "sfwOnly": False, "poi": False, "nsfw": nsfw, "nsfwLevel": 1, "availability": "Public",
            "cosmetic": None, "supportsGeneration": False,
            "stats": {"downloadCount": 5000, "thumbsUpCount": 400, "thumbsDownCount": 1, "commentCount": 12,
                      "tippedAmountCount": 0},
            "creator": {"username": creator, "image": None}, "tags": list(tags or ["style"]),
            "modelVersions": summaries}


class CivitaiStandin:
    """`with CivitaiStandin() as civ:` serves at `civ.url` until the block ends."""

    def __init__(self, *, rate_limit: float | None = None):
        self.versions: dict[int, dict] = {}
        self.models: dict[int, dict] = {}
        self.hashes: dict[str, int] = {}  # upper-case SHA256 / AutoV2 -> version id
        self.media: dict[str, tuple[str, bytes]] = {}  # path under /images/ -> (content type, bytes)
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.rate_limit = rate_limit
        self.limited = 0  # 429s sent by the rate limit
        self._faults: list[tuple[str, Any, float | None]] = []  # (path part, 429 | 500 | "timeout", Retry-After)
        self._lock = threading.Lock()
        self._tokens = 2.0  # the rate limit is a token bucket of two (a burst of two, then `rate_limit` a second)
        self._filled = time.monotonic()
        self.slow_s = 2.0  # how long a "timeout" fault takes to answer
        self._server: ThreadingHTTPServer | None = None

    # --- content --------------------------------------------------------------------------------
    def add(self, model: dict, *versions: dict) -> None:
        self.models[model["id"]] = model
        for version in versions:
            self.versions[version["id"]] = version
            for f in version.get("files", []):
                for kind in ("SHA256", "AutoV2"):
                    if f["hashes"].get(kind):
                        self.hashes[f["hashes"][kind].upper()] = version["id"]

    def image(self, name: str, data: bytes = PNG_1PX, content_type: str = "image/png") -> str:
        self.media[name] = (content_type, data)
        return f"{self.url}/images/{name}"

    def fail(self, path_part: str, *faults, retry_after: float | None = None) -> None:
        """The next requests whose path contains `path_part` get these faults, in order."""
        with self._lock:
            self._faults += [(path_part, f, retry_after) for f in faults]

    def paths(self, part: str = "") -> list[str]:
        return [p for _, p, _ in self.requests if part in p]

    # --- server ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> CivitaiStandin:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, as from a real server

            def do_GET(self):  # noqa: N802 - http.server's name
                standin._answer(self)

            def log_message(self, *args):  # quiet
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="civitai-standin", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _fault_for(self, path: str):
        with self._lock:
            for i, (part, fault, after) in enumerate(self._faults):
                if part in path:
                    del self._faults[i]
                    return fault, after
            if self.rate_limit:
                now = time.monotonic()
                self._tokens = min(2.0, self._tokens + (now - self._filled) * self.rate_limit)
                self._filled = now
                if self._tokens < 1.0:
                    self.limited += 1
                    return 429, (1.0 - self._tokens) / self.rate_limit
                self._tokens -= 1.0
        return None, None

    def _answer(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        self.requests.append(("GET", path, {k.lower(): v for k, v in h.headers.items()}))
        fault, after = self._fault_for(path)
        if fault == "timeout":
            time.sleep(self.slow_s)
            fault = 500
        if fault is not None:
            extra = {"Retry-After": f"{after:g}"} if after is not None else {}
            return _send(h, fault, orjson.dumps({"error": "Too many requests" if fault == 429 else "Server error"}),
                         extra=extra)
        if path.startswith("/images/"):
            found = self.media.get(path[len("/images/"):])
            if found is None:
                return _send(h, 404, b"not found", "text/plain")
            return _send(h, 200, found[1], found[0])
        body = self._api(path)
        if body is None:
            return _send(h, 404, orjson.dumps({"error": "Model not found"}))
        etag = 'W/"' + hashlib.sha256(body).hexdigest()[:27] + '"'
        if h.headers.get("If-None-Match") == etag:
            return _send(h, 304, b"", extra={"ETag": etag})
        _send(h, 200, body, extra={"ETag": etag})

    def _api(self, path: str) -> bytes | None:
        parts = path.strip("/").split("/")
        if parts[:3] != ["api", "v1", "model-versions"] and parts[:3] != ["api", "v1", "models"]:
            return None
        if parts[2] == "model-versions" and len(parts) == 5 and parts[3] == "by-hash":
            vid = self.hashes.get(parts[4].upper())
            return orjson.dumps(self.versions[vid]) if vid in self.versions else None
        if len(parts) == 4 and parts[3].isdigit():
            table = self.versions if parts[2] == "model-versions" else self.models
            item = table.get(int(parts[3]))
            return orjson.dumps(item) if item is not None else None
        return None


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that gave up (its timeout, a test's injected slowness) is expected here: no traceback."""
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def _send(h, status: int, body: bytes, ctype: str = "application/json", extra: dict | None = None) -> None:
    h.send_response(status)
    if status != 304:
        h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    for k, v in (extra or {}).items():
        h.send_header(k, v)
    h.end_headers()
    if body and h.command != "HEAD":
        h.wfile.write(body)
