"""One LoRA file (plus its companions) -> one ProbeResult (records.py): the facts of one index row."""

from __future__ import annotations

import os
from typing import Any

from ..errors import BrokenFile
from .filekind import PICKLE_EXTS, other_kind
from .header import read_header
from .metadata import normalise
from .names import prompt_name
from .prefetch import probe_spans, will_read
from .previews import find_previews
from .records import NOT_READ, BaseModel, ProbeResult
from .searchtext import search_text
from .sidecars import read_sidecars
from .walker import FileEntry


def probe(entry: FileEntry, sha256: str | None = None, training: bool = True) -> ProbeResult:
    """`sha256`: the file's hash when known (after hashing): it picks our version out of a Civitai model sidecar.
    `training` False: neither the training tags nor the stored metadata are made here (NOT_READ, JSON null
    both); the background pass of `sync/training.py` reads them after the scan (a large scan's header
    workers do this: the metadata is most of a row's bytes, and only an entry's detail shows it)."""
    folder = entry.folder
    base = entry.base
    sidecars = read_sidecars(folder, base, entry.companions, sha256=sha256) if entry.companions else []
    previews = find_previews(base, entry.companions) if entry.companions else []
    header = None
    state, error = "ok", None
    lower = entry.name.lower()
    if lower.endswith(PICKLE_EXTS):
        state, error = "unsupported", "pickled checkpoint (.pt/.ckpt): metadata is not read, since unpickling runs code"
    elif entry.size == 0:
        state, error = "broken", "empty file (0 bytes)"
    else:
        try:
            header = read_header(entry.path, entry.size)
        except BrokenFile as exc:
            state, error = "broken", exc.message
    facts = normalise(header, sidecars, previews, entry.name, training=training or header is None)
    other = other_kind(header.tensors, facts.network_type) if header else None
    if other is not None:  # an embedding, VAE, checkpoint or upscaler: kept, but out of the LoRA list
        state, error = "other", other.message
        facts.network_type = other.kind
        facts.base = BaseModel(other.family, None, "tensors" if other.family else None)
    rel = _relative(folder, entry.root)
    result = ProbeResult(
        path=entry.path,
        root=entry.root,
        folder="" if rel == "." else rel.replace(os.sep, "/"),
        file_name=entry.name,
        prompt_name=prompt_name(entry.name),
        ext=os.path.splitext(lower)[1],
        size=entry.size,
        mtime_ns=entry.mtime_ns,
        companion_sig=entry.companion_sig,
        state=state,
        error=error,
        header_digest=header.digest if header else None,
        header_hash=facts.header_hash,
        title=facts.title,
        alias=facts.alias,
        network_type=facts.network_type,
        rank=facts.rank,
        alpha=facts.alpha,
        base_family=facts.base.family,
        base_label=facts.base.label,
        base_source=facts.base.source,
        description=facts.description,
        author=facts.author,
        trained_started=facts.trained_started,
        trained_finished=facts.trained_finished,
        resolution=facts.resolution,
        cover_mime=facts.cover_mime,
        triggers=facts.triggers,
        training_tags=NOT_READ if facts.training_tags is None else [list(t) for t in facts.training_tags],
        source_tags=facts.source_tags,
        meta=NOT_READ if facts.training_tags is None else facts.metadata,  # left with the training tags
        sidecars=[_sidecar_row(s) for s in sidecars],
        previews=[{"name": p.name, "kind": p.kind, "convention": p.convention} for p in previews],
        preview_count=len(previews),
        suggested=facts.suggested,
        nsfw_level=level_column(facts.suggested.get("nsfw_level")),
    )
    result.search_text = search_text({k: getattr(result, k) for k in SEARCH_FIELDS})
    return result


# Civitai's highest browsing-level bit ("Blocked"); a sidecar's larger figure counts as it in the column
# (an integer column: a hostile sidecar's 10**18 would not fit PostgreSQL's). Migration 0019 applies the same rule.
MAX_NSFW_LEVEL = 32


def level_column(level) -> int | None:
    """The `nsfw_level` column of a probe row from `suggested`'s figure: a positive integer, at most
    MAX_NSFW_LEVEL; None (unknown) for anything else."""
    if isinstance(level, int) and not isinstance(level, bool) and level > 0:
        return min(level, MAX_NSFW_LEVEL)
    return None


# What search_text reads of a row: a cold index builds it for every file, without the whole row.
SEARCH_FIELDS = ("file_name", "prompt_name", "alias", "title", "triggers", "source_tags", "description")


def _relative(folder: str, root: str) -> str:
    """os.path.relpath for a folder the walk found under `root` (absolute, normalised), without its
    per-call normalising; anything else goes through relpath."""
    if folder == root:
        return "."
    prefix = root if root.endswith(os.sep) else root + os.sep
    if folder.startswith(prefix) and os.sep + "." not in folder[len(prefix) - 1:]:
        return folder[len(prefix):]
    return os.path.relpath(folder, root)


def _sidecar_row(s) -> dict[str, Any]:
    """Keep what a person wants to see about a sidecar: which, and whether it parsed."""
    row = {"kind": s.kind, "name": s.name}
    if s.error:
        row["error"] = s.error
    for key in ("civitai_model_id", "civitai_version_id", "version_name", "base_label", "sha256", "nsfw",
                "nsfw_level", "version_match"):
        value = getattr(s, key)
        if value is not None:
            row[key] = value
    if s.hash_checked:
        row["hash_checked"] = True
    if s.hash_keys is not None:
        row["hash_keys"] = s.hash_keys
    if s.own_sha256:
        row["own_sha256"] = s.own_sha256
    return row


def probe_many(entries: list[FileEntry], hints: list[str | None] | None = None,
               training: bool = True) -> list[ProbeResult]:
    """Probe a batch (`hints`: each file's SHA-256 when known; `training`: see `probe`); a bug on one file
    is recorded on it, never ends the batch."""
    if len(entries) > 1:
        will_read(probe_spans(entries))  # the batch's reads in flight at once (prefetch.py)
    return [_probe_safely(e, hints[i] if hints else None, training) for i, e in enumerate(entries)]


def _probe_safely(entry: FileEntry, sha256: str | None = None, training: bool = True) -> ProbeResult:
    """A reader bug on one odd file must not end a scan of 10k: record it as broken."""
    try:
        return probe(entry, sha256, training)
    except Exception as exc:  # noqa: BLE001 - recorded on the entry, never swallowed
        result = probe(FileEntry(entry.path, entry.root, entry.name, 0, entry.mtime_ns, (), 0))
        result.size, result.companion_sig = entry.size, entry.companion_sig
        result.state, result.error = "broken", f"could not be read: {type(exc).__name__}: {exc}"[:500]
        return result
