"""The export archive as a file: written atomically, read as hostile (docs/transfer.md).

Before a single member is read, the whole listing is checked: names (no absolute path, no `..`, no
backslash, no drive, no symlink, only the members this format has: its documents, previews, recipe
covers), counts, declared sizes per kind and in total, and the compression ratio. JSON is parsed with
a depth limit and validated against the format's models (schema.py). Any failure refuses the archive
with one message; nothing is changed. Declared sizes bind what is read: zipfile stops at a member's
stated size and checks its CRC.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections.abc import Iterator
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from ..errors import BadRequest, InvalidInput
from .schema import COVER_MEMBER, DOCUMENTS, FORMAT, PARTS, VERSION, Generation, Manifest, UsageHeader

MAX_MEMBERS = 200_000
MAX_DOC_BYTES = 256 << 20  # a JSON document is parsed whole
MAX_USAGE_BYTES = 8 << 30  # usage.jsonl is read a line at a time
MAX_LINE_BYTES = 1 << 20
MAX_PREVIEW_BYTES = 64 << 20
MAX_COVER_BYTES = 8 << 20  # a recipe cover is a WebP thumbnail of at most 768 pixels a side
MAX_TOTAL_BYTES = 16 << 30
MAX_RATIO = 200  # uncompressed / compressed, for members over RATIO_FLOOR bytes
RATIO_FLOOR = 64 << 10
MAX_DEPTH = 16

_DOC = re.compile(r"^(manifest|loras|userdata|collections|recipes|settings)\.json$")
PREVIEW = re.compile(r"^previews/(\d{1,7})/(\.[A-Za-z0-9_.-]{1,60})$")
COVER = re.compile(COVER_MEMBER)
PREVIEW_SUFFIX = re.compile(r"^(\.preview|\.thumb|\.example\.\d{1,3})?\.(png|jpe?g|webp|gif|avif|mp4|webm)$", re.I)


class BadArchive(BadRequest):
    code = "bad_archive"


def parse_parts(what: str | list[str] | None) -> list[str]:
    items = what if isinstance(what, list) else [p.strip() for p in (what or "").split(",") if p.strip()]
    unknown = sorted(set(items) - set(PARTS))
    if unknown:
        raise InvalidInput(f"unknown part(s): {', '.join(unknown)} (parts: {', '.join(PARTS)})")
    return [p for p in PARTS if p in items] if items else list(PARTS)


def depth_ok(value: Any, limit: int = MAX_DEPTH) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return True


def _why_name_is_bad(name: str) -> str | None:
    if "\x00" in name:
        return "a NUL character"
    if "\\" in name:
        return "a backslash"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if any(part == ".." for part in name.split("/")):
        return "a path leaving the archive (..)"
    return None


def _kind(name: str) -> str | None:
    if _DOC.match(name):
        return "doc"
    if name == "usage.jsonl":
        return "usage"
    m = PREVIEW.match(name)
    if m and PREVIEW_SUFFIX.match(m.group(2)):
        return "preview"
    if COVER.match(name):
        return "cover"
    return None


class ArchiveReader:
    """An export archive opened for reading, every member checked first."""

    def __init__(self, path: str, label: str | None = None):
        self.path = path
        try:
            self.zf = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile, ValueError) as exc:
            raise BadArchive(f"{label or os.path.basename(path)} is not a readable zip archive ({exc})") from None
        try:
            self.members = self._check(self.zf.infolist())
        except BaseException:
            self.zf.close()
            raise

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *exc) -> None:
        self.zf.close()

    def _check(self, infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
        if len(infos) > MAX_MEMBERS:
            raise BadArchive(f"the archive has {len(infos)} members, over the limit of {MAX_MEMBERS}")
        members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        limits = {"doc": MAX_DOC_BYTES, "usage": MAX_USAGE_BYTES, "preview": MAX_PREVIEW_BYTES,
                  "cover": MAX_COVER_BYTES}
        for info in infos:
            name = info.filename
            bad = _why_name_is_bad(name)
            if bad:
                raise BadArchive(f"refused: member {name[:200]!r} has {bad}")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise BadArchive(f"refused: member {name[:200]!r} is a symbolic link")
            if info.flag_bits & 0x1:
                raise BadArchive(f"refused: member {name[:200]!r} is encrypted")
            if name in members:
                raise BadArchive(f"refused: member {name[:200]!r} appears twice")
            kind = _kind(name)
            if kind is None:
                raise BadArchive(f"refused: {name[:200]!r} is not a member of a LoRA Manager export")
            if info.file_size > limits[kind]:
                raise BadArchive(
                    f"refused: member {name} would be {info.file_size} bytes, over the limit of {limits[kind]}"
                )
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(1, info.compress_size):
                raise BadArchive(f"refused: member {name} expands {info.file_size // max(1, info.compress_size)} times "
                                 f"(a compression bomb? the limit is {MAX_RATIO})")
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise BadArchive(f"refused: the archive would expand to over {MAX_TOTAL_BYTES} bytes")
            members[name] = info
        if "manifest.json" not in members:
            raise BadArchive("refused: no manifest.json (is this a LoRA Manager export?)")
        return members

    def _json(self, name: str) -> Any:
        try:
            with self.zf.open(self.members[name]) as f:
                raw = f.read(MAX_DOC_BYTES + 1)
            value = orjson.loads(raw)
        except zipfile.BadZipFile as exc:
            raise BadArchive(f"refused: member {name} is damaged ({exc})") from None
        except orjson.JSONDecodeError as exc:
            raise BadArchive(f"refused: {name} is not valid JSON ({str(exc)[:200]})") from None
        if not depth_ok(value):
            raise BadArchive(f"refused: {name} nests deeper than {MAX_DEPTH} levels")
        return value

    @staticmethod
    def _validate(model: type[BaseModel], value: Any, where: str) -> Any:
        try:
            return model.model_validate(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            at = ".".join(str(p) for p in first.get("loc", ())) or "(top)"
            raise BadArchive(f"refused: {where} does not have the expected shape at {at}: {first.get('msg')} "
                             f"({exc.error_count()} problem(s))") from None

    def manifest(self) -> Manifest:
        value = self._json("manifest.json")
        if isinstance(value, dict) and value.get("format") == FORMAT and value.get("version") != VERSION:
            raise BadArchive(f"refused: export format version {str(value.get('version'))[:20]} is unknown to this "
                             f"version of LoRA Manager (it reads version {VERSION})")
        if isinstance(value, dict) and value.get("format") != FORMAT:
            raise BadArchive("refused: manifest.json is not a LoRA Manager export manifest")
        return self._validate(Manifest, value, "manifest.json")

    def document(self, name: str) -> Any:
        if name not in self.members:
            raise BadArchive(f"refused: the manifest lists a part but {name} is missing")
        value = self._json(name)
        version = value.get("version") if isinstance(value, dict) else None
        if version is not None and version != VERSION:
            raise BadArchive(f"refused: {name} has format version {str(version)[:20]}, unknown to this version")
        return self._validate(DOCUMENTS[name], value, name)

    def usage(self) -> tuple[UsageHeader, Iterator[Generation]]:
        if "usage.jsonl" not in self.members:
            raise BadArchive("refused: the manifest lists usage but usage.jsonl is missing")
        f = self.zf.open(self.members["usage.jsonl"])
        header = self._validate(UsageHeader, self._line(f.readline(MAX_LINE_BYTES + 1), 1), "usage.jsonl line 1")

        def lines() -> Iterator[Generation]:
            with f:
                n = 1
                while line := f.readline(MAX_LINE_BYTES + 1):
                    n += 1
                    if line.strip():  # no depth check: every field of a line is typed, nesting fails the model
                        yield self._validate(Generation, self._line(line, n, deep=False), f"usage.jsonl line {n}")

        return header, lines()

    @staticmethod
    def _line(raw: bytes, n: int, deep: bool = True) -> Any:
        if len(raw) > MAX_LINE_BYTES:
            raise BadArchive(f"refused: usage.jsonl line {n} is over {MAX_LINE_BYTES} bytes")
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadArchive(f"refused: usage.jsonl line {n} is not valid JSON ({str(exc)[:200]})") from None
        if deep and not depth_ok(value):
            raise BadArchive(f"refused: usage.jsonl line {n} nests deeper than {MAX_DEPTH} levels")
        return value

    def previews(self) -> list[tuple[int, str, zipfile.ZipInfo]]:
        out = []
        for name, info in self.members.items():
            m = PREVIEW.match(name)
            if m:
                out.append((int(m.group(1)), m.group(2), info))
        return out

    def cover(self, name: str) -> bytes:
        """A recipe's cover member, which recipes.json names (refused when it is not there)."""
        if name not in self.members:
            raise BadArchive(f"refused: recipes.json names the cover {name[:200]}, which the archive does not hold")
        return self.read(self.members[name])

    def read(self, info: zipfile.ZipInfo) -> bytes:
        try:
            with self.zf.open(info) as f:
                return f.read(MAX_PREVIEW_BYTES + 1)
        except zipfile.BadZipFile as exc:
            raise BadArchive(f"refused: member {info.filename} is damaged ({exc})") from None


class ArchiveWriter:
    """Written under a private name and renamed into place when complete."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        self.partial = os.path.join(os.path.dirname(self.path), f".{os.path.basename(self.path)}.partial-{os.getpid()}")
        self.zf = zipfile.ZipFile(self.partial, "w", zipfile.ZIP_DEFLATED, allowZip64=True)

    def doc(self, name: str, value: Any) -> None:
        self.zf.writestr(name, orjson.dumps(value))

    def stream(self, name: str):
        return self.zf.open(name, "w", force_zip64=True)

    def file(self, name: str, source: str) -> None:
        self.zf.write(source, name)

    def finish(self) -> None:
        self.zf.close()
        os.replace(self.partial, self.path)

    def abort(self) -> None:
        self.zf.close()
        if os.path.exists(self.partial):
            os.unlink(self.partial)
