"""One LoRA as the recommender reads it: a document text for the embedder, words
for the lexical ranking, triggers for exact hits. Pure functions, no heavy imports."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import orjson

# The list-API fields a document is made from (one light query for the whole library).
# The training tags come apart, as their stored text (`training_head`): through the entries they cost 8 s at 100k.
DOC_FIELDS = ("id", "name", "prompt_name", "title", "alias", "base_model", "triggers", "tags", "source_tags",
              "description", "preferred_weight")
DESCRIPTION_CHARS = 600  # the model reads ~256 word pieces; the first sentences carry the meaning
TRAINING_TAGS = 12
WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SEPARATORS = re.compile(r"[_\-.]+")
_VERSION = re.compile(r"\b[vV] ?\d+\b")  # "v2", "V 3": a release, not a meaning
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
# Words that carry no meaning for picking a LoRA (prompt filler, LoRA jargon, English glue).
STOP = frozenset(["a", "an", "the", "and", "or", "of", "in", "on", "at", "to", "for", "with", "by", "from", "is", "are",
                  "be", "this", "that", "it", "its", "as", "into", "over", "under", "very", "best", "quality",
                  "masterpiece", "highres", "detailed", "lora", "locon", "lycoris", "loha", "lokr", "version", "model",
                  "8k", "4k", "hd", "uhd", "score", "9", "8", "7", "up"])


@dataclass(slots=True)
class LoraDoc:
    id: int
    prompt_name: str
    family: str | None
    text: str  # what the embedder reads
    words: list[str]  # what BM25 reads
    triggers: list[str] = field(default_factory=list)
    weight: float | None = None  # the user's (or the trainer's) preferred weight
    digest: str = ""  # of `text` (hex): a changed digest means "embed again"


def clean(text: str) -> str:
    """Text a tokenizer accepts: lone surrogates become "?", control characters spaces."""
    if not text.isascii():  # ASCII has no surrogate to replace
        text = text.encode("utf-8", "replace").decode("utf-8")
    if text.isprintable():  # most of a library: nothing to change (a character at a time: 0.3 s of a 100k read)
        return text
    return "".join(c if c.isprintable() or c in "\n\t" else " " for c in text)


def humanise(name: str) -> str:
    """`cyberpunkCity_v2-xl` -> `cyberpunk City v 2 xl`: a file name as words."""
    spaced = _CAMEL.sub(" ", _SEPARATORS.sub(" ", name or ""))
    return " ".join(_VERSION.sub(" ", spaced).split())


def words(text: str) -> list[str]:
    """Lower-case, accent-folded words without stop words (BM25 terms, trigger tokens)."""
    folded = (text or "").lower()
    if not folded.isascii():  # ASCII has nothing to decompose or fold (most documents: half the build's time)
        folded = unicodedata.normalize("NFKD", folded)
        folded = "".join(c for c in folded if not unicodedata.combining(c))
    return [w for w in WORD.findall(folded) if w not in STOP and len(w) < 40]


def _training(tags: Any) -> list[str]:
    out: list[str] = []
    for item in tags or ():
        tag = item[0] if isinstance(item, (list, tuple)) and item else item
        if isinstance(tag, str) and tag.strip():
            out.append(tag.strip().replace("_", " "))
        if len(out) >= TRAINING_TAGS:
            break
    return out


def training_head(raw: str | None) -> list[str]:
    """The first TRAINING_TAGS tags of stored training tags (their JSON text: at most 50 [tag, count] pairs,
    most frequent first) as `_training` makes them; text that does not parse gives none."""
    if not raw or raw == "null":
        return []
    try:
        return _training(orjson.loads(raw))
    except orjson.JSONDecodeError:
        return []


def doc_of(entry: dict[str, Any], training: list[str] | None = None) -> LoraDoc:
    """A list-API entry (with DOC_FIELDS) -> its document; `training`: its `training_head` (or, when None,
    from the entry's own `training_tags`)."""
    triggers = [t.strip() for t in entry.get("triggers") or () if isinstance(t, str) and t.strip()]
    tags = [t for t in (entry.get("tags") or []) + (entry.get("source_tags") or []) if isinstance(t, str)]
    names = [humanise(entry.get("name") or entry.get("prompt_name") or "")]
    for extra in (entry.get("alias"), entry.get("title")):
        if extra:
            human = humanise(extra)
            if human.lower() not in {n.lower() for n in names}:
                names.append(human)
    description = " ".join((entry.get("description") or "").split())[:DESCRIPTION_CHARS]
    parts = [". ".join(names)]
    if triggers:
        parts.append("Triggers: " + ", ".join(triggers))
    if tags:
        parts.append("Tags: " + ", ".join(dict.fromkeys(tags)))
    if description:
        parts.append(description)
    if training is None:
        training = _training(entry.get("training_tags"))
    if training:
        parts.append("Trained on: " + ", ".join(training))
    text = clean(". ".join(parts))
    weight = entry.get("preferred_weight")
    return LoraDoc(
        id=int(entry["id"]), prompt_name=entry.get("prompt_name") or "", family=entry.get("base_model"), text=text,
        words=words(text), triggers=triggers, weight=float(weight) if isinstance(weight, (int, float)) else None,
        digest=hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest(),
    )


def lora_tag(prompt_name: str, weight: float | None) -> str:
    """The tag the host resolves: the prompt name (never the alias) and a weight."""
    w = 1.0 if weight is None else float(weight)
    shown = f"{w:.2f}".rstrip("0")
    return f"<lora:{prompt_name}:{shown}0>" if shown.endswith(".") else f"<lora:{prompt_name}:{shown}>"
