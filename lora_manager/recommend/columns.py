"""The corpus's documents held as columns, and its look-ups by id and by prompt name, without an object per LoRA.

At 100k LoRAs a `LoraDoc` per document (96 bytes), an int object for each id and each position (28 bytes each),
the prompt names as strings, and dicts from id and from prompt name to position held about 25 MB of small
objects that live as long as the corpus. Made one at a time between the rows read to build it, they also kept
the memory of those rows from going back to the system (docs/performance-api.md, "The corpus in columns").
Here an id is 8 bytes in an array, a weight 8, a family a reference to one interned string, a prompt name its
bytes in one buffer; a look-up by id or by name is a binary search.
"""

from __future__ import annotations

import math
import operator
from array import array
from bisect import bisect_left
from collections.abc import Iterator

from .text import LoraDoc

NO_WEIGHT = math.nan  # a document without a preferred weight


class Strings:
    """Strings packed as UTF-8 in one buffer, each found by where it ends: no object per string while held
    (at 100k LoRAs the prompt names as strings held 7 MB, here 2 MB). Reading one decodes it."""

    def __init__(self):
        self.data = bytearray()
        self.ends = array("Q")

    def append(self, s: str) -> None:
        self.data += s.encode("utf-8", "surrogatepass")
        self.ends.append(len(self.data))

    def _span(self, p: int) -> tuple[int, int]:
        if not 0 <= p < len(self.ends):
            raise IndexError(p)
        return (self.ends[p - 1] if p else 0), self.ends[p]

    def __getitem__(self, p: int) -> str:
        start, end = self._span(p)
        return self.data[start:end].decode("utf-8", "surrogatepass")

    def __setitem__(self, p: int, s: str) -> None:
        start, end = self._span(p)
        raw = s.encode("utf-8", "surrogatepass")
        if raw == self.data[start:end]:
            return
        self.data[start:end] = raw
        shift = len(raw) - (end - start)
        for i in range(p, len(self.ends)):
            self.ends[i] += shift

    def __len__(self) -> int:
        return len(self.ends)

    def __iter__(self) -> Iterator[str]:
        return (self[p] for p in range(len(self.ends)))


class Digests:
    """The texts' digests (32 hex digits each, `text.doc_of`) packed as 16 bytes each in one buffer; a digest of
    another form (none, in documents made by hand) is kept as it is, beside."""

    def __init__(self):
        self.raw = bytearray()
        self.other: dict[int, str] = {}

    def _packed(self, digest: str) -> bytes | None:
        try:
            raw = bytes.fromhex(digest) if len(digest) == 32 else None
        except ValueError:
            return None
        return raw if raw is not None and raw.hex() == digest else None

    def append(self, digest: str) -> None:
        raw = self._packed(digest)
        if raw is None:
            self.other[len(self.raw) // 16] = digest
        self.raw += raw or bytes(16)

    def __setitem__(self, p: int, digest: str) -> None:
        raw = self._packed(digest)
        self.other.pop(p, None)
        if raw is None:
            self.other[p] = digest
        self.raw[16 * p: 16 * p + 16] = raw or bytes(16)

    def __getitem__(self, p: int) -> str:
        hit = self.other.get(p)
        return hit if hit is not None else self.raw[16 * p: 16 * p + 16].hex()


class Docs:
    """The documents by position. `docs[p]` is a `LoraDoc` made on the spot (its words and triggers are in the
    index, not here): changing it changes nothing held; `docs[p] = doc` does."""

    def __init__(self, keep_text: bool = True):
        self.ids = array("q")
        self.names = Strings()
        self.families: list[str | None] = []
        self.weights = array("d")
        self.texts: list[str] | None = [] if keep_text else None  # what the embedder reads, until embedded
        self.digests = Digests() if keep_text else None

    def append(self, d: LoraDoc) -> None:
        self.ids.append(d.id)
        self.names.append(d.prompt_name)
        self.families.append(d.family)
        self.weights.append(NO_WEIGHT if d.weight is None else d.weight)
        if self.texts is not None:
            self.texts.append(d.text)
            self.digests.append(d.digest)

    def __setitem__(self, p: int, d: LoraDoc) -> None:
        self.ids[p], self.names[p], self.families[p] = d.id, d.prompt_name, d.family
        self.weights[p] = NO_WEIGHT if d.weight is None else d.weight
        if self.texts is not None:
            self.texts[p] = d.text
            self.digests[p] = d.digest

    def __getitem__(self, p: int) -> LoraDoc:
        w = self.weights[p]
        return LoraDoc(id=self.ids[p], prompt_name=self.names[p], family=self.families[p],
                       text=self.texts[p] if self.texts is not None else "", words=(), triggers=(),
                       weight=None if math.isnan(w) else w, digest=self.digests[p] if self.digests is not None else "")

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[LoraDoc]:
        return (self[p] for p in range(len(self.ids)))

    def drop_texts(self) -> None:
        if self.texts is not None:
            self.texts = [""] * len(self.texts)


class Positions:
    """Id -> position, read from the ids column: a binary search when the ids came in ascending order (the corpus
    reads the library by id), else a dict. Made once every document is in (an edit keeps each id in place)."""

    def __init__(self, ids: array):
        self.ids = ids
        self._dict: dict[int, int] | None = None
        if any(ids[i] >= ids[i + 1] for i in range(len(ids) - 1)):
            self._dict = {lid: p for p, lid in enumerate(ids)}

    def get(self, lid: int, default: int | None = None) -> int | None:
        if self._dict is not None:
            return self._dict.get(lid, default)
        ids = self.ids
        p = bisect_left(ids, lid)
        return p if p < len(ids) and ids[p] == lid else default

    def __getitem__(self, lid: int) -> int:
        p = self.get(lid)
        if p is None:
            raise KeyError(lid)
        return p

    def __contains__(self, lid: object) -> bool:
        try:
            return self.get(operator.index(lid)) is not None  # an int, or numpy's
        except TypeError:
            return False

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)


class Names:
    """Prompt name -> position of the first document with it, as the host resolves a name; with a case-blind
    fallback. Two arrays of positions, sorted by name and by lower-case name (a sort keeps positions ascending
    among equal names)."""

    def __init__(self, names: Strings | list[str]):
        self.names = names
        order = range(len(names))
        self.exact = array("I", sorted(order, key=names.__getitem__))
        self.lower = array("I", sorted(order, key=self._low))

    def _low(self, p: int) -> str:
        return self.names[p].lower()

    def _first(self, order: array, key, name: str) -> int | None:
        i = bisect_left(order, name, key=key)
        return order[i] if i < len(order) and key(order[i]) == name else None

    def find(self, prompt_name: str) -> int | None:
        """A document named exactly so first, then one whose name in lower case is so; then the same for the
        name in lower case."""
        for name in dict.fromkeys((prompt_name, prompt_name.lower())):
            for order, key in ((self.exact, self.names.__getitem__), (self.lower, self._low)):
                hit = self._first(order, key, name)
                if hit is not None:
                    return hit
        return None
