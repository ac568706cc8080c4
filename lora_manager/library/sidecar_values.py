"""Values read from untrusted sidecars: capped text, numbers, ids, hashes, word lists, HTML as text.

Nothing here raises on bad input: a value of the wrong type or shape reads as None or empty.
"""


import re
from html import unescape
from typing import Any

MAX_SIDECAR_BYTES = 8 * 1024 * 1024
MAX_DESCRIPTION = 20_000
MAX_ITEMS = 200  # tags, triggers
MAX_ITEM_LEN = 200
MAX_URLS = 50
_MAX_LINE = 500  # titles, version names, labels
_MAX_SCAN = 10_000  # list items looked at, however many a hostile file holds
_MAX_VERSIONS, _MAX_FILES = 1_000, 100  # bounds the version x file hash search
_MAX_HTML_IN = 400_000  # HTML characters fed to the parser before the description cap

# Suffix -> kind, in the order read_sidecars returns them. ".json" is resolved
# by shape (json_dialect). The longer ".metadata.json" etc. are distinct keys:
# the caller assigned the names to `base`, so the suffix is exactly name[len(base):].
_SUFFIX_KINDS: dict[str, str] = {
    ".json": "json", ".civitai.info": "civitai_info", ".api_info.json": "api_info",
    ".metadata.json": "lm_metadata", ".cm-info.json": "cm_info",
    ".txt": "txt", ".description.txt": "description_txt",
}
SIDECAR_SUFFIXES: tuple[str, ...] = tuple(_SUFFIX_KINDS)

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX12 = re.compile(r"[0-9a-f]{12}")
_DIGITS = re.compile(r"[0-9]{1,18}")
_URL = re.compile(r"https?://\S{1,2040}", re.I)
_LOOKS_HTML = re.compile(r"<(?:p|br|div|span|a|b|i|strong|em|ul|ol|li|h[1-6])\b[^<>]*>", re.I)
_NO_BASE = {"", "unknown", "other", "none", "null"}
_BOOL_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
# Kinds whose parse can use a sha256 stated by a sibling sidecar to pick the right
# version/file (Civitai responses cover several versions and files).
_NEEDS_HINT = {"civitai_model_json", "api_info", "civitai_info"}


# --------------------------------------------------------------------------- values


def _dict(v: Any) -> dict:
    return v if isinstance(v, dict) else {}


def _list(v: Any, cap: int = _MAX_SCAN) -> list:
    return v[:cap] if isinstance(v, list) else []


def _line(v: Any, cap: int = _MAX_LINE) -> str | None:
    """A one-line text field; numbers are accepted (Civitai names like 1.5), whitespace collapsed."""
    if isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 1e18:  # also rejects nan/inf
        v = str(v)
    if not isinstance(v, str):
        return None
    return " ".join(v[: cap * 4].replace("\x00", "").split())[:cap] or None


def _para(v: Any, cap: int = MAX_DESCRIPTION) -> str | None:
    """A multi-line text field: keep line breaks, normalise them, strip the ends."""
    if not isinstance(v, str):
        return None
    v = v[: cap * 2].replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    return v.strip()[:cap] or None


def _id(v: Any) -> int | None:
    """A Civitai id: positive int, also given as "123" or 123.0 by sloppy writers."""
    if isinstance(v, bool):
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, str) and _DIGITS.fullmatch(v.strip()):
        v = int(v.strip())
    return v if isinstance(v, int) and 0 < v < 2**63 else None


def _float(v: Any) -> float | None:
    if isinstance(v, str):
        try:
            v = float(v.strip()[:64])
        except ValueError:
            return None
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 1e300  # also rejects nan/inf
    return float(v) if ok else None


def _bool(v: Any) -> bool | None:
    if isinstance(v, bool) or (isinstance(v, int) and v in (0, 1)):
        return bool(v)
    return _BOOL_WORDS.get(v.strip().lower()) if isinstance(v, str) else None


def _words(v: Any, dict_key: str | None = None) -> list[str]:
    """Triggers/tags: comma-split, stripped, case-insensitively deduped, capped.

    Accepts a list (of strings, or of ``{dict_key: str}`` items) or one
    comma-separated string, since writers disagree (``trainedWords: "a, b"``).
    """
    items = [v] if isinstance(v, str) else _list(v)
    out: list[str] = []
    seen: set[str] = set()
    for item in items:
        if dict_key and isinstance(item, dict):
            item = item.get(dict_key)
        if not isinstance(item, str):
            continue
        for part in item[: MAX_ITEM_LEN * MAX_ITEMS].split(","):
            part = " ".join(part.replace("\x00", "").split())
            key = part.casefold()
            if not part or len(part) > MAX_ITEM_LEN or key in seen:
                continue
            seen.add(key)
            out.append(part)
            if len(out) >= MAX_ITEMS:
                return out
    return out


def _sha256(v: Any, pattern: re.Pattern = _HEX64) -> str | None:
    """Lowercase hex of the pattern's length (AutoV3: pass _HEX12). The SHA-256 of
    empty input is never a model's hash (a writer hashed nothing)."""
    s = v.strip().lower() if isinstance(v, str) else ""
    return s if pattern.fullmatch(s) and s != EMPTY_SHA256 else None


def _base_label(v: Any) -> str | None:
    """Civitai/A1111 base label as given; 'Unknown'/'Other' say nothing and are dropped."""
    s = _line(v, 100)
    return None if s is None or s.casefold() in _NO_BASE else s


def _urls(items: Any) -> list[str]:
    """http(s) URLs from a list of strings or of Civitai image items ``{url: ...}``."""
    out: list[str] = []
    for item in _list(items):
        url = item.get("url") if isinstance(item, dict) else item
        if isinstance(url, str) and _URL.fullmatch(url) and url not in out:
            out.append(url)
            if len(out) >= MAX_URLS:
                break
    return out


def _author(*holders: Any) -> str | None:
    for holder in holders:
        name = _line(_dict(_dict(holder).get("creator")).get("username"), 200)
        if name:
            return name
    return None


# A tag ends at ">" or, if unterminated, before the next "<": every scan stops at a "<",
# so stripping is linear however hostile the markup (html.parser is quadratic on some).
_TAG = re.compile(r"<!--.*?(?:-->|\Z)|<(/?)([a-zA-Z][a-zA-Z0-9]*)[^<>]*>?|<[!?/][^<>]*>?", re.S)
_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "tr", "table", "blockquote", "pre", "hr", "section",
               "h1", "h2", "h3", "h4", "h5", "h6"}
# html.unescape raises ValueError on a numeric reference of over 4300 digits; none over
# 7 digits is a valid character anyway.
_LONG_CHARREF = re.compile(r"&#[xX]?[0-9a-fA-F]{8,};?")
_SKIP_END = {t: re.compile(rf"</{t}\b[^<>]*>?", re.I) for t in ("script", "style", "template", "noscript")}


def _text_of(html: str) -> str:
    """Entities decoded; raw line breaks are spaces in HTML."""
    return unescape(_LONG_CHARREF.sub("\ufffd", html)).replace("\r", " ").replace("\n", " ")


def html_to_text(v: Any, cap: int = MAX_DESCRIPTION) -> str | None:
    """Civitai descriptions are HTML: drop tags (and script/style bodies), unescape
    entities, collapse whitespace; block tags (p, br, li, h1...) become line breaks.
    Text without ``<`` or ``&`` is taken as plain and keeps its own line breaks."""
    if not isinstance(v, str):
        return None
    s = v[:_MAX_HTML_IN].replace("\x00", "")
    if "<" in s or "&" in s:
        parts: list[str] = []
        pos = 0
        while m := _TAG.search(s, pos):
            parts.append(_text_of(s[pos:m.start()]))
            pos, tag = m.end(), (m.group(2) or "").lower()
            if tag in _SKIP_END and not m.group(1):
                close = _SKIP_END[tag].search(s, pos)
                pos = close.end() if close else len(s)
            elif tag in _BLOCK_TAGS:
                parts.append("\n")
        parts.append(_text_of(s[pos:]))
        s = "".join(parts)
    lines = (" ".join(line.split()) for line in s.splitlines())
    return "\n".join(line for line in lines if line)[:cap] or None


# Image ratings as Civitai names them in older answers (`nsfw` or a string `nsfwLevel`) -> browsing level bits.
LEVEL_NAMES = {"none": 1, "false": 1, "soft": 2, "mature": 4, "x": 8, "true": 4}


def image_level(image: dict[str, Any]) -> int | None:
    """One image's rating as a browsing-level bit (1 PG ... 16 XXX); None when it does not say."""
    level = image.get("nsfwLevel")
    if isinstance(level, int) and not isinstance(level, bool) and level > 0:
        return level
    for raw in (level, image.get("nsfw")):
        if isinstance(raw, (str, bool)):
            found = LEVEL_NAMES.get(str(raw).strip().lower())
            if found:
                return found
    return None


def loads_or_none(text: str | None) -> Any:
    """A JSON value written by another tool, or None when there is none or it does not parse."""
    if not text:
        return None
    import orjson

    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
