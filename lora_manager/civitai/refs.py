"""What a user may name to download: a Civitai page or download URL, a version id, or an AIR.

    https://civitai.com/models/123?modelVersionId=456   model 123, version 456
    https://civitai.com/models/123/some-name            model 123, its newest version
    https://civitai.com/api/download/models/456         version 456
    456                                                 version 456
    urn:air:sdxl:lora:civitai:123@456                   model 123, version 456 (civitai:123: the newest)

Only Civitai's own hosts (civitai.com and its subdomains, and the configured LORA_MANAGER_CIVITAI_URL)
are accepted: LoRA Manager never downloads from an arbitrary address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from ..errors import InvalidInput

MAX_ID = 10**12
_ID = r"[1-9][0-9]{0,11}"
_QUERY = r"(\?[\x21\x24-\x7e]{0,500})?"  # printable, no '#'
# The API schema's pattern: exactly the shapes parse() accepts (Civitai's own hosts only).
PATTERN = (rf"^({_ID}|urn:air:[a-z0-9_.-]{{1,40}}:[a-z0-9_.-]{{1,40}}:civitai:{_ID}(@{_ID})?"
           rf"|https?://([a-z0-9-]{{1,63}}\.)*civitai\.com(/models/{_ID}(/[^/?#\s]{{0,200}})?/?{_QUERY}"
           rf"|/api/download/models/{_ID}/?{_QUERY}|/api/v1/model-versions/{_ID}/?))$")
_AIR = re.compile(r"^urn:air:[a-z0-9_.-]+:[a-z0-9_.-]+:civitai:([0-9]+)(?:@([0-9]+))?$", re.I)
_MODEL_PATH = re.compile(r"^/models/([0-9]+)(?:/[^/]*)?/?$")
_DOWNLOAD_PATH = re.compile(r"^/api/download/models/([0-9]+)/?$")
_VERSION_API = re.compile(r"^/api/v1/model-versions/([0-9]+)/?$")
_DIGITS = re.compile(r"[0-9]{1,13}")


@dataclass(slots=True, frozen=True)
class Ref:
    model_id: int | None
    version_id: int | None  # None: the model's newest published version


def _id(text: str, what: str) -> int:
    value = int(text)
    if not 0 < value < MAX_ID:
        raise InvalidInput(f"{what} {text} is not a Civitai id")
    return value


def parse(text: str, base_url: str = "https://civitai.com") -> Ref:
    """The model and version a reference names; InvalidInput says what is accepted otherwise."""
    raw = (text or "").strip()
    if _DIGITS.fullmatch(raw):
        return Ref(None, _id(raw, "version id"))
    air = _AIR.match(raw)
    if air:
        return Ref(_id(air.group(1), "model id"), _id(air.group(2), "version id") if air.group(2) else None)
    parts = urlsplit(raw)
    if parts.scheme in ("http", "https") and parts.hostname:
        if not _civitai_host(parts.hostname, base_url):
            raise InvalidInput(f"{parts.hostname} is not Civitai: give a civitai.com URL, a version id or an AIR",
                               {"host": parts.hostname})
        query = parse_qs(parts.query)
        asked = (query.get("modelVersionId") or [""])[0]
        path = parts.path.rstrip("/") or "/"
        m = _MODEL_PATH.match(path)
        if m:
            version = _id(asked, "version id") if _DIGITS.fullmatch(asked) else None
            return Ref(_id(m.group(1), "model id"), version)
        m = _DOWNLOAD_PATH.match(path) or _VERSION_API.match(path)
        if m:
            return Ref(None, _id(m.group(1), "version id"))
    raise InvalidInput("give a Civitai model or download URL (https://civitai.com/models/123?modelVersionId=456, "
                       "https://civitai.com/api/download/models/456), a version id (456) or an AIR "
                       "(urn:air:sdxl:lora:civitai:123@456)", {"ref": raw[:200]})


def _civitai_host(host: str, base_url: str) -> bool:
    host = host.lower().rstrip(".")
    own = (urlsplit(base_url).hostname or "").lower()
    return host in (own, "civitai.com") or host.endswith(".civitai.com")
