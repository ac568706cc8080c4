"""Read the sidecar files other tools leave next to a LoRA (see docs/formats.md).

Every sidecar is untrusted text from the internet. Nothing here raises on bad
input and nothing here writes: a file that cannot be read or parsed yields a
``SidecarFacts`` with ``error`` set, and wrong-typed fields are ignored.
"""

from __future__ import annotations

import os
import stat
from typing import Any
from collections.abc import Iterable

import orjson

from .civitai_versions import _hash_keys, _hashes, _lower_keys, _own_sha256, _pick_file, match_version  # noqa: F401
from .records import SidecarFacts

# Limits callers and tests read as sidecars.X:
from .sidecar_values import (  # noqa: F401
    _HEX12,
    _LOOKS_HTML,
    _MAX_FILES,
    _MAX_HTML_IN,
    _MAX_VERSIONS,
    _NEEDS_HINT,
    _SUFFIX_KINDS,
    EMPTY_SHA256,
    MAX_DESCRIPTION,
    MAX_ITEM_LEN,
    MAX_ITEMS,
    MAX_SIDECAR_BYTES,
    MAX_URLS,
    SIDECAR_SUFFIXES,
    _author,
    _base_label,
    _bool,
    _dict,
    _float,
    _id,
    _line,
    _list,
    _para,
    _sha256,
    _urls,
    _words,
    html_to_text,
    image_level,
)

# --------------------------------------------------------------------------- dialects


def json_dialect(data: Any) -> str:
    """Tell the two ``<base>.json`` dialects apart by shape: SDNext stores the Civitai
    *model* response (``modelVersions``/``creator``); everyone else writes A1111's."""
    if isinstance(data, dict) and ("modelVersions" in data or "creator" in data):
        return "civitai_model_json"
    return "a1111_json"


def parse_a1111_json(data: dict, name: str) -> SidecarFacts:
    """A1111/Forge user metadata. ``preferred weight`` 0 means "use the default"."""
    f = SidecarFacts(kind="a1111_json", name=name)
    desc = data.get("description")
    # A1111 writes plain text, but some writers copy Civitai's HTML description here.
    looks_html = isinstance(desc, str) and _LOOKS_HTML.search(desc[:_MAX_HTML_IN]) is not None
    f.description = html_to_text(desc) if looks_html else _para(desc)
    f.base_label = _base_label(data.get("sd version"))
    f.triggers = _words(data.get("activation text"))
    weight = _float(data.get("preferred weight"))
    f.preferred_weight = weight if weight else None
    f.negative_text = _para(data.get("negative text"))
    f.notes = _para(data.get("notes"))
    f.civitai_model_id = _id(data.get("modelId"))
    f.civitai_version_id = _id(data.get("modelVersionId"))
    f.sha256 = _sha256(data.get("sha256"))
    return f


def _fill_version(f: SidecarFacts, version: dict, sha256: str | None, trust_file: bool) -> None:
    """Copy a Civitai model-version object into ``f``. Hashes are only taken when we
    know the version is ours (``trust_file``), so a guess never states a wrong hash."""
    f.version_name = _line(version.get("name"))
    f.civitai_version_id = _id(version.get("id"))
    f.civitai_model_id = f.civitai_model_id or _id(version.get("modelId"))
    f.base_label = _base_label(version.get("baseModel"))
    f.triggers = _words(version.get("trainedWords"))
    f.preview_urls = _urls(version.get("images"))
    f.nsfw_level = _first_image_level(version.get("images"))
    f.description = f.description or html_to_text(version.get("description"))
    if trust_file:
        hashes = _hashes(_pick_file(version.get("files"), sha256))
        f.sha256 = _sha256(hashes.get("sha256"))
        f.autov3 = _sha256(hashes.get("autov3"), _HEX12)


def _first_image_level(images) -> int | None:
    """The rating of the first image: the one a sidecar's writer shows or downloads as the preview."""
    first = next((i for i in _list(images, 200) if isinstance(i, dict)), None)
    return image_level(first) if first else None


def parse_civitai_model(
    data: dict, name: str, sha256: str | None = None, kind: str = "civitai_model_json", file_base: str | None = None
) -> SidecarFacts:
    """The Civitai *model* response (SDNext ``<base>.json``, civitai-browser-plus
    ``.api_info.json``). With several ``modelVersions`` ours is picked by ``match_version``:
    by the LoRA's SHA-256 (or AutoV2) in a file's hashes, else by the file name ``file_base``;
    otherwise the first (the newest) is the best guess, and ``version_match`` says so."""
    f = SidecarFacts(kind=kind, name=name)
    want = _sha256(sha256)
    versions = [v for v in _list(data.get("modelVersions"), _MAX_VERSIONS) if isinstance(v, dict)]
    chosen, how = match_version(versions, want, file_base)
    f.title = _line(data.get("name"))
    f.description = html_to_text(data.get("description"))
    f.tags = _words(data.get("tags"), dict_key="name")
    f.author = _author(data)
    f.civitai_model_id = _id(data.get("id"))
    f.nsfw = _bool(data.get("nsfw"))
    if chosen is not None:
        f.version_match = how
        f.hash_checked = want is not None
        if want is None and how in ("name", "first"):
            f.hash_keys = _hash_keys(versions)
            f.own_sha256 = _own_sha256(versions, chosen)
        # A version picked by name or as the first is a guess: it never states a hash.
        _fill_version(f, chosen, want, trust_file=how in ("sha256", "autov2", "only"))
    return f


def parse_civitai_version(data: dict, name: str, sha256: str | None = None, kind: str = "civitai_info") -> SidecarFacts:
    """The Civitai *model-version* response (Civitai Helper ``.civitai.info``). An empty
    skeleton ``{}`` is valid and yields an empty record. The model's description is
    preferred to the version's change notes, to agree with the model response."""
    f = SidecarFacts(kind=kind, name=name)
    model = _dict(data.get("model"))
    f.title = _line(model.get("name"))
    f.description = html_to_text(model.get("description"))
    f.tags = _words(model.get("tags"), dict_key="name")
    f.author = _author(data, model)
    f.nsfw = _bool(model.get("nsfw"))
    f.civitai_model_id = _id(data.get("modelId")) or _id(model.get("id"))
    _fill_version(f, data, _sha256(sha256), trust_file=True)
    ours = _dict(data.get("lora_manager")).get("preview_nsfw_level")  # we wrote it: the preview we took
    if isinstance(ours, int) and not isinstance(ours, bool) and 0 < ours <= 32:
        f.nsfw_level = ours
    return f


def parse_lm_metadata(data: dict, name: str) -> SidecarFacts:
    """ComfyUI-Lora-Manager ``.metadata.json``; ``civitai`` holds a version response and
    ``usage_tips`` is a JSON *string* (``strength``, ``strength_min``, ``strength_max``)."""
    f = SidecarFacts(kind="lm_metadata", name=name)
    civ = _dict(data.get("civitai"))
    model = _dict(civ.get("model"))
    f.title = _line(data.get("model_name")) or _line(model.get("name"))
    f.version_name = _line(civ.get("name"))
    f.description = html_to_text(data.get("modelDescription")) or html_to_text(model.get("description"))
    f.author = _author(civ, model)
    f.base_label = _base_label(data.get("base_model")) or _base_label(civ.get("baseModel"))
    f.triggers = _words(civ.get("trainedWords"))
    f.tags = _words(data.get("tags")) or _words(model.get("tags"), dict_key="name")
    f.sha256 = _sha256(data.get("sha256"))
    f.favorite = _bool(data.get("favorite"))
    f.notes = _para(data.get("notes"))
    f.nsfw = _bool(model.get("nsfw"))
    f.civitai_model_id = _id(civ.get("modelId")) or _id(model.get("id"))
    f.civitai_version_id = _id(civ.get("id"))
    # preview_url is usually a local path (ignored); only web URLs are kept.
    f.preview_urls = _urls([data.get("preview_url"), *_urls(civ.get("images"))])
    level = data.get("preview_nsfw_level")  # the writer's own record of its preview's rating
    f.nsfw_level = (level if isinstance(level, int) and not isinstance(level, bool) and 0 < level <= 32
                    else _first_image_level(civ.get("images")))
    tips = data.get("usage_tips")
    if isinstance(tips, str) and len(tips) < 65_536:
        try:
            tips = orjson.loads(tips)
        except orjson.JSONDecodeError:
            tips = None  # a broken optional field is ignored, not fatal
    tips = _dict(tips)
    f.preferred_weight = _float(tips.get("strength"))
    f.weight_min = _float(tips.get("strength_min"))
    f.weight_max = _float(tips.get("strength_max"))
    return f


def parse_cm_info(data: dict, name: str) -> SidecarFacts:
    """Stability Matrix ``.cm-info.json`` (C# PascalCase keys; read case-insensitively).
    ``ModelName`` is the title; the user's ``UserTitle`` only fills in when it is absent."""
    d = _lower_keys(data)
    f = SidecarFacts(kind="cm_info", name=name)
    f.title = _line(d.get("modelname")) or _line(d.get("usertitle"))
    f.version_name = _line(d.get("versionname"))
    f.description = html_to_text(d.get("modeldescription")) or html_to_text(d.get("versiondescription"))
    f.base_label = _base_label(d.get("basemodel"))
    f.triggers = _words(d.get("trainedwords"))
    f.tags = _words(d.get("tags"))
    f.sha256 = _sha256(_lower_keys(d.get("hashes")).get("sha256"))
    f.civitai_model_id = _id(d.get("modelid"))
    f.civitai_version_id = _id(d.get("versionid"))
    f.nsfw = _bool(d.get("nsfw"))
    f.preview_urls = _urls([d.get("thumbnailimageurl")])
    return f


def parse_text(text: str, name: str, kind: str = "txt") -> SidecarFacts:
    """``<base>.txt`` / ``<base>.description.txt``: the whole file is the description."""
    return SidecarFacts(kind=kind, name=name, description=_para(text))


# --------------------------------------------------------------------------- files


def _one_line(msg: str, cap: int = 200) -> str:
    return " ".join(str(msg).split())[:cap]


def _read_bytes(path: str) -> tuple[bytes | None, str | None]:
    """Read a regular file of at most MAX_SIDECAR_BYTES. O_NONBLOCK: a FIFO named like a
    sidecar must not hang the scan (it is then refused as not a regular file)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as e:
        return None, _one_line(f"cannot read: {e.strerror or e}")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, "not a regular file"
        too_large = f"too large: over {MAX_SIDECAR_BYTES // (1024 * 1024)} MiB"
        if st.st_size > MAX_SIDECAR_BYTES:
            return None, too_large
        chunks, total = [], 0
        while chunk := os.read(fd, min(1 << 20, MAX_SIDECAR_BYTES + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_SIDECAR_BYTES:  # grew while we read it
                return None, too_large
        return b"".join(chunks), None
    except OSError as e:
        return None, _one_line(f"cannot read: {e.strerror or e}")
    finally:
        os.close(fd)


def _decode(raw: bytes, latin1_fallback: bool) -> tuple[str | None, str | None]:
    """UTF-8 (BOM tolerated), UTF-16 when it has a BOM (Windows Notepad), latin-1 for .txt."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), None
        except UnicodeDecodeError:
            return None, "not valid UTF-16 text"
    if b"\x00" in raw:
        return None, "binary data, not text"
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as e:
        if latin1_fallback:
            return raw.decode("latin-1"), None
        return None, f"not UTF-8 text: invalid byte at offset {e.start}"


def _load(folder: str, name: str, kind: str) -> tuple[str, Any, str | None]:
    """Read one sidecar: (resolved kind, dict or text, error)."""
    is_text = kind in ("txt", "description_txt")
    fallback_kind = "a1111_json" if kind == "json" else kind
    raw, err = _read_bytes(os.path.join(folder, name))
    if err is not None:
        return fallback_kind, None, err
    text, err = _decode(raw, latin1_fallback=is_text)
    if err is not None:
        return fallback_kind, None, err
    if is_text:
        return kind, text, None
    if not text.strip():
        return fallback_kind, None, "empty file"
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        return fallback_kind, None, _one_line(f"not valid JSON: {e}")
    if not isinstance(data, dict):
        got = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(data), "a number")
        return fallback_kind, None, f"expected a JSON object, got {got}"
    return (json_dialect(data) if kind == "json" else kind), data, None


def _parse(name: str, kind: str, payload: Any, hint: str | None, base: str | None = None) -> SidecarFacts:
    if kind in ("txt", "description_txt"):
        return parse_text(payload, name, kind)
    simple = {"a1111_json": parse_a1111_json, "lm_metadata": parse_lm_metadata, "cm_info": parse_cm_info}
    if kind in simple:
        return simple[kind](payload, name)
    # Writers mix the two Civitai shapes up; follow the shape, keep the file's kind.
    if kind == "civitai_model_json" or "modelVersions" in payload:
        return parse_civitai_model(payload, name, hint, kind=kind, file_base=base)
    if kind == "api_info" and not ("modelId" in payload or "files" in payload):
        return parse_civitai_model(payload, name, hint, kind=kind, file_base=base)
    return parse_civitai_version(payload, name, hint, kind=kind)


def sidecar_suffix(base: str, name: str) -> str | None:
    """The sidecar suffix of ``name`` for LoRA ``base`` (``<base>.safetensors``), or None.
    The prefix is compared case-insensitively (the caller already assigned the name)."""
    if not isinstance(name, str) or name[:len(base)].casefold() != base.casefold():
        return None
    if "/" in name or "\\" in name or "\x00" in name:
        return None
    suffix = name[len(base) :].lower()
    return suffix if suffix in _SUFFIX_KINDS else None


def read_sidecars(folder: str, base: str, names: Iterable[str], *, sha256: str | None = None) -> list[SidecarFacts]:
    """One SidecarFacts per sidecar among ``names`` (files in ``folder`` already known to
    belong to ``<base>``), ordered by SIDECAR_SUFFIXES then name. Never raises.

    ``sha256`` (optional, the LoRA's full-file hash) picks the right version out of a
    Civitai model response; without it, a hash stated by a sibling sidecar (A1111 json,
    Lora-Manager, Stability Matrix) is used, which is why those are parsed first.
    """
    picked = sorted({(SIDECAR_SUFFIXES.index(s), n, s) for n in names if (s := sidecar_suffix(base, n))})
    loaded = []
    for _, name, suffix in picked:
        kind = _SUFFIX_KINDS[suffix]
        try:
            loaded.append((name, *_load(folder, name, kind)))
        except Exception as e:  # last-resort guard: one odd file must not stop a scan
            loaded.append(
                (
                    name,
                    "a1111_json" if kind == "json" else kind,
                    None,
                    _one_line(f"internal error reading: {type(e).__name__}: {e}"),
                )
            )
    out: list[SidecarFacts | None] = [None] * len(loaded)
    hint = _sha256(sha256)
    for late in (False, True):
        for i, (name, kind, payload, err) in enumerate(loaded):
            if (kind in _NEEDS_HINT) != late:
                continue
            if err is not None:
                out[i] = SidecarFacts(kind=kind, name=name, error=err)
                continue
            try:
                out[i] = _parse(name, kind, payload, hint, base)
            except Exception as e:  # last-resort guard, recorded on the record
                out[i] = SidecarFacts(
                    kind=kind, name=name, error=_one_line(f"internal error parsing: {type(e).__name__}: {e}")
                )
            hint = hint or out[i].sha256  # type: ignore[union-attr]
    return [f for f in out if f is not None]
