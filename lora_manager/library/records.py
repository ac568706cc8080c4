"""Typed records produced by the library readers (plain dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import orjson

LORA_EXTENSIONS = (".safetensors", ".pt", ".ckpt")


@dataclass(slots=True)
class Header:
    """A parsed safetensors header."""

    length: int  # N, the JSON header's byte length
    metadata: dict[str, str]  # `__metadata__`, values coerced to str
    tensors: dict[str, list[int]]  # tensor name -> shape
    digest: str  # sha256 hex of the raw header bytes: a cheap fingerprint


@dataclass(slots=True)
class SidecarFacts:
    """What one sidecar file says about its LoRA. Every field is optional."""

    # a1111_json | civitai_model_json | civitai_info | api_info | lm_metadata | cm_info | txt | description_txt
    kind: str
    name: str  # file name of the sidecar, relative to the LoRA's folder
    error: str | None = None  # set when the file could not be read or parsed
    title: str | None = None
    version_name: str | None = None
    description: str | None = None
    author: str | None = None
    base_label: str | None = None  # Civitai-style label: "SDXL 1.0", "Pony", "SD 1.5", "Flux.1 D" ...
    triggers: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    sha256: str | None = None  # full-file SHA-256 (lowercase hex) when the sidecar states it
    autov3: str | None = None
    preferred_weight: float | None = None
    weight_min: float | None = None
    weight_max: float | None = None
    negative_text: str | None = None
    notes: str | None = None
    civitai_model_id: int | None = None
    civitai_version_id: int | None = None
    nsfw: bool | None = None
    nsfw_level: int | None = None  # the preview's rating as a Civitai browsing-level bit (1 PG ... 16 XXX)
    preview_urls: list[str] = field(default_factory=list)
    favorite: bool | None = None
    # Which of a Civitai model's versions is ours: sha256 | autov2 | name | only | first (a guess); None: one version
    version_match: str | None = None
    hash_checked: bool = False  # the LoRA's own hash was known when the version was picked
    # A guess made without our hash: the first 10 hex of every hash the versions' files state (SHA-256 or
    # AutoV2). A hash whose prefix is not among them cannot change the pick, so no file is read again for it.
    hash_keys: list[str] | None = None
    # The SHA-256s that would pick the guessed version itself: a hash among them confirms the guess, and the row
    # is settled as a pick by hash without reading the file again (storage/version_guesses.py).
    own_sha256: list[str] | None = None


GUESS_NOTES = ("hash_keys", "own_sha256")  # a guess's notes in a sidecar row: the index's own, never shown


@dataclass(slots=True)
class Preview:
    name: str  # file name, relative to the LoRA's folder
    kind: str  # "image" | "video"
    convention: str  # "preview" | "plain" | "thumb" | "example"


@dataclass(slots=True)
class BaseModel:
    family: str | None  # SDNext vocabulary: sd1, sd2, xl, sd3, sc, f1, f2, hv, chroma, zimage, qwen, ...
    label: str | None  # finer label where known (Pony, Illustrious, "SDXL 1.0", ...)
    source: str | None  # ss_base_model_version | modelspec | tensors | sidecar | name | None


@dataclass(slots=True)
class LoraFacts:
    """Everything the file and its sidecars say, normalised. User data is not here."""

    title: str | None = None
    alias: str | None = None  # ss_output_name
    network_type: str | None = None  # LoRA, LoCon, LoHa, LoKr, DoRA, OFT, GLoRA, IA3, ...
    rank: int | None = None
    alpha: float | None = None
    base: BaseModel = field(default_factory=lambda: BaseModel(None, None, None))
    triggers: list[str] = field(default_factory=list)
    training_tags: list[tuple[str, int]] | None = field(default_factory=list)  # None: not read yet
    source_tags: list[str] = field(default_factory=list)
    description: str | None = None
    author: str | None = None
    trained_started: str | None = None  # ISO 8601
    trained_finished: str | None = None
    resolution: str | None = None
    cover_mime: str | None = None  # an embedded cover image exists (modelspec.thumbnail / ssmd_cover_images)
    header_hash: str | None = None  # sshs_model_hash: tensor-only sha256 stated by the trainer
    metadata: dict[str, Any] = field(default_factory=dict)  # raw metadata, large values trimmed
    suggested: dict[str, Any] = field(default_factory=dict)  # weights/negative text the sidecars suggest
    sidecars: list[SidecarFacts] = field(default_factory=list)
    previews: list[Preview] = field(default_factory=list)


# JSON columns of a ProbeResult: Python values as probed, or their orjson bytes once packed.
JsonList = list[Any] | bytes
JsonDict = dict[str, Any] | bytes


@dataclass(slots=True)
class ProbeResult:
    """What one probe found about one file and its companions: one row of facts for the index.

    Built by `probe.probe` (in a header worker or in this process), read by the
    scanner, the reprobe and file operations, and turned into a database row by
    `as_row` alone. A worker `pack`s it before it crosses the pipe.
    """

    """Where the file is, as the walk saw it."""
    path: str
    root: str
    folder: str  # relative to root, "/"-separated; "" at the root
    file_name: str
    prompt_name: str  # what `<lora:...>` calls it
    ext: str  # lower case, with the dot
    size: int
    mtime_ns: int
    companion_sig: int  # changes when a sidecar or preview is added, removed or modified

    """How the read went."""
    state: str  # ok | broken | unsupported | other
    error: str | None  # why, for a person, when state is not ok
    header_digest: str | None  # sha256 of the raw header: identity of a moved file

    """What the header and the sidecars say (LoraFacts, flattened to columns)."""
    header_hash: str | None
    title: str | None
    alias: str | None
    network_type: str | None
    rank: int | None
    alpha: float | None
    base_family: str | None
    base_label: str | None
    base_source: str | None
    description: str | None
    author: str | None
    trained_started: str | None
    trained_finished: str | None
    resolution: str | None
    cover_mime: str | None

    """JSON columns (see JsonList/JsonDict: bytes once packed)."""
    triggers: JsonList
    training_tags: JsonList  # [[tag, count], ...]; NOT_READ (JSON null): left for the background pass
    source_tags: JsonList
    meta: JsonDict  # raw metadata, large values trimmed
    sidecars: JsonList  # [{kind, name, error?, ...}]: what a person wants to see about each sidecar
    previews: JsonList  # [{name, kind, convention}]
    preview_count: int
    suggested: JsonDict
    nsfw_level: int | None  # suggested["nsfw_level"] as its own column: what the list's `nsfw_max` filters on

    """Derived."""
    search_text: str = ""

    def as_row(self) -> dict[str, Any]:
        """The database row: one column per field (JSON columns as values or orjson bytes, both stored as they are)."""
        return {name: getattr(self, name) for name in _RESULT_FIELDS}

    def pack(self) -> ProbeResult:
        """Turn the JSON columns into orjson bytes, in place: a header worker does this once, so the
        scanning process unpickles flat bytes and passes them to the database untouched."""
        dumps = orjson.dumps
        for name in PROBE_JSON_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, bytes):
                setattr(self, name, dumps(value))
        return self

    def __reduce__(self):
        # Rebuilt by the constructor from a flat tuple: the cheapest form to unpickle
        # in the scanning process (half the time of the slots' default state).
        return ProbeResult, tuple(getattr(self, name) for name in _RESULT_FIELDS)


# The stored training tags (and metadata) of a row whose tags are not read yet (JSON null; sync/training.py
# reads them).
NOT_READ = b"null"
# What that pass reads of one file: (training tags [[tag, count], ...], stored metadata {key: value}), as
# `probe` would have stored them.
LeftOut = tuple[list[list], dict[str, Any]]
PROBE_JSON_FIELDS = ("triggers", "training_tags", "source_tags", "meta", "sidecars", "previews", "suggested")
_RESULT_FIELDS = tuple(f.name for f in fields(ProbeResult))
