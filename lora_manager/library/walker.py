"""Find LoRA files under library roots, with the sidecar files beside them.

One `os.scandir` pass per folder; every file is stat'ed once. The result is
enough to decide "unchanged" without opening any file.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from .records import LORA_EXTENSIONS


@dataclass(slots=True)
class FileEntry:
    path: str  # absolute path of the LoRA file
    root: str  # the library root it was found under
    name: str  # file name
    size: int
    mtime_ns: int
    companions: tuple[str, ...]  # sidecar and preview file names in the same folder
    companion_sig: int  # changes when any companion is added, removed or modified

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path)

    @property
    def base(self) -> str:
        return os.path.splitext(self.name)[0]


@dataclass(slots=True)
class WalkResult:
    files: list[FileEntry] = field(default_factory=list)
    unavailable_roots: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, message)


def _lora_base(name: str) -> str | None:
    lower = name.lower()
    for ext in LORA_EXTENSIONS:
        if lower.endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)]
    return None


def _owner(name: str, bases: set[str]) -> str | None:
    """The LoRA base a companion file belongs to: the longest base that is a prefix up to a dot.

    `style.v2.preview.png` belongs to `style.v2`, not `style`, when both exist.
    """
    best = None
    pos = name.find(".")
    while pos > 0:
        prefix = name[:pos]
        if prefix in bases:
            best = prefix
        pos = name.find(".", pos + 1)
    return best


LINK_OUTSIDE = "a link leading outside the library roots; not followed (see LORA_MANAGER_LINK_TARGETS)"


class Fence:
    """Where links may lead: the real locations of the roots and of the outside
    folders the user named. A link is followed only when its real path is inside."""

    def __init__(self, roots: list[str], targets: list[str] | None = None):
        self.real = sorted({os.path.realpath(p) for p in [*roots, *(targets or ())]})

    def holds(self, path: str) -> bool:
        real = os.path.realpath(path)
        return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in self.real)


def walk(roots: list[str], skip: set[str] | None = None, link_targets: list[str] | None = None,
         on_folder: Callable[[int], None] | None = None) -> WalkResult:
    """Walk every root. A root that is absent (an offline drive) is reported, never an error.
    Links (to folders or LoRA files) are followed only into the roots or `link_targets`.
    `on_folder(files found so far)` after each folder listed."""
    result = WalkResult()
    seen_dirs: set[tuple[int, int]] = set()
    skip_real = {os.path.realpath(s) for s in (skip or ())}
    fence = Fence(roots, link_targets)
    for root in roots:
        root_abs = os.path.abspath(root)
        if not os.path.isdir(root_abs):
            result.unavailable_roots.append(root_abs)
            continue
        stack = [root_abs]
        while stack:
            folder = stack.pop()
            try:
                st = os.stat(folder)
            except OSError as exc:
                result.errors.append((folder, exc.strerror or str(exc)))
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs or (skip_real and os.path.realpath(folder) in skip_real):
                continue  # a symlink loop, or a folder we own (trash)
            seen_dirs.add(key)
            _scan_folder(folder, root_abs, stack, result, fence)
            if on_folder is not None:
                on_folder(len(result.files))
    return result


def _scan_folder(folder: str, root: str, stack: list[str], result: WalkResult, fence: Fence | None = None,
                 only: set[str] | None = None) -> None:
    """The LoRAs of one folder with their companion files; `only`: just these paths (the others' files are
    still seen, so that each companion goes to the LoRA it belongs to, but nothing of theirs is stat'ed)."""
    loras: list[tuple[str, os.DirEntry]] = []
    others: list[os.DirEntry] = []
    try:
        with os.scandir(folder) as it:
            for entry in it:
                name = entry.name
                try:
                    if entry.is_dir():
                        if not name.startswith("."):
                            if fence is not None and entry.is_symlink() and not fence.holds(entry.path):
                                result.errors.append((entry.path, LINK_OUTSIDE))
                            else:
                                stack.append(entry.path)
                        continue
                except OSError:
                    continue
                base = _lora_base(name)
                if base is not None:
                    if fence is not None and entry.is_symlink() and not fence.holds(entry.path):
                        result.errors.append((entry.path, LINK_OUTSIDE))
                        continue
                    try:
                        entry.path.encode("utf-8")
                    except UnicodeEncodeError:
                        # A name that is not UTF-8 cannot be stored, shown or put in a
                        # prompt: report it and go on with the rest of the library.
                        result.errors.append((entry.path.encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
                                              "file name is not valid UTF-8; rename the file"))
                        continue
                    loras.append((base, entry))
                else:
                    others.append(entry)
    except OSError as exc:
        result.errors.append((folder, exc.strerror or str(exc)))
        return
    if not loras:
        return
    bases = {base for base, _ in loras}
    if only is not None:
        loras = [(base, entry) for base, entry in loras if entry.path in only]
    wanted = {base for base, _ in loras}
    owned: dict[str, list[tuple[str, int, int]]] = {}
    for entry in others:
        owner = _owner(entry.name, bases)
        if owner is None or owner not in wanted:
            continue
        try:
            st = entry.stat()
        except OSError:
            continue
        owned.setdefault(owner, []).append((entry.name, st.st_size, st.st_mtime_ns))
    for base, entry in loras:
        try:
            st = entry.stat()
        except OSError as exc:
            result.errors.append((entry.path, exc.strerror or str(exc)))
            continue
        comps = sorted(owned.get(base, ()))
        sig = 0
        if comps:
            sig = zlib.crc32(repr(comps).encode("utf-8", "surrogateescape"))
        result.files.append(
            FileEntry(entry.path, root, entry.name, st.st_size, st.st_mtime_ns, tuple(c[0] for c in comps), sig)
        )


def entry_for(path: str, root: str) -> FileEntry | None:
    """The FileEntry of one LoRA file, listing only its own folder."""
    return entries_for([(path, root)]).get(os.path.abspath(path))


def entries_for(files: list[tuple[str, str]]) -> dict[str, FileEntry]:
    """{path: FileEntry} of LoRA files given as (path, root): each folder listed once, and only the files
    asked for (and their companions) stat'ed, so that reading again k files of a folder of n costs one
    listing, not k (the hasher reads again whole batches of one large folder)."""
    by_folder: dict[tuple[str, str], set[str]] = {}
    for path, root in files:
        target = os.path.abspath(path)
        by_folder.setdefault((os.path.dirname(target), os.path.abspath(root)), set()).add(target)
    found: dict[str, FileEntry] = {}
    for (folder, root), wanted in by_folder.items():
        result = WalkResult()
        _scan_folder(folder, root, [], result, only=wanted)
        found.update((e.path, e) for e in result.files)
    return found
