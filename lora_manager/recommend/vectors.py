"""Embeddings of the library, persisted in the data directory, searched with faiss.

One file per model (`recommend/<model>.npz`: ids, unit vectors, the digest of
the text each was made from), replaced atomically. A file that does not load
(cut short, another version, another dimension) is set aside and rebuilt;
it never stops the recommender. The faiss index is an exhaustive inner product
over float16 codes (`IndexScalarQuantizer`, QT_fp16): no training, no clusters
to go stale, so it is rebuilt from the file in milliseconds rather than stored
twice. Readers get an immutable `Snapshot`;
the builder swaps in a new one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
FORMAT = 1


def store_path(data_dir: str, model: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model.strip("/\\"))[-60:]
    tag = hashlib.sha1(model.encode()).hexdigest()[:8]
    return os.path.join(data_dir, "recommend", f"{slug}-{tag}.npz")


@dataclass(frozen=True)
class Snapshot:
    ids: Any  # int64 (n,)
    vectors: Any  # float32 (n, dim), unit rows
    index: Any  # faiss index over `vectors`, or None when empty
    pos: dict[int, int]  # id -> row

    @property
    def size(self) -> int:
        return len(self.pos)

    def vector(self, lid: int):
        row = self.pos.get(lid)
        return None if row is None else self.vectors[row]

    def search(self, query, k: int) -> list[tuple[int, float]]:
        """(id, cosine) of the k nearest rows to one unit vector."""
        if self.index is None or not self.pos:
            return []
        import numpy as np

        k = max(1, min(k, len(self.pos)))
        scores, rows = self.index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        ids = self.ids
        return [(int(ids[r]), float(s)) for s, r in zip(scores[0], rows[0], strict=False) if r >= 0]


def make_snapshot(ids, vectors) -> Snapshot:
    import faiss
    import numpy as np

    # One query is one small search: faiss's OpenMP threads only fight the server's
    # own threads for the cores (measured: slower with 2 threads on a 2-core machine).
    faiss.omp_set_num_threads(1)

    ids = np.asarray(ids, dtype=np.int64)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = None
    if len(ids):
        # Exhaustive inner product over float16 codes: half the memory to stream per query
        # (100k x 384: 8.3 ms against 11.7 ms for float32 on one thread) and, for unit vectors,
        # the same top 10 as the float32 search in the bench's checks.
        index = faiss.IndexScalarQuantizer(vectors.shape[1], faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors[:1])  # fp16 codes need no statistics
        index.add(vectors)
    return Snapshot(ids, vectors, index, {int(i): r for r, i in enumerate(ids.tolist())})


class VectorStore:
    """The embeddings for one model. Written by one builder thread; read by any."""

    def __init__(self, path: str, model: str, dim: int):
        self.path = path
        self.model = model
        self.dim = dim
        self.digests: dict[int, str] = {}
        self.snapshot: Snapshot = make_snapshot([], _empty(dim))
        self.loaded_from_disk = False
        self.note: str | None = None  # why the file was set aside, if it was
        self._lock = threading.Lock()

    def load(self) -> bool:
        """Read the file if it is there and sound; False (starting empty) otherwise."""
        if not os.path.exists(self.path):
            return False
        import numpy as np

        try:
            with np.load(self.path, allow_pickle=False) as data:
                meta = str(data["meta"])
                ids, vectors, digests = data["ids"], data["vectors"], data["digests"]
            if meta != self._meta() or vectors.shape != (len(ids), self.dim) or len(digests) != len(ids):
                raise ValueError(f"made for another model, dimension or format ({meta!r})")
            if len(ids) and not np.isfinite(vectors).all():
                raise ValueError("holds non-finite numbers")
        except Exception as exc:  # truncated, garbage, another version: set aside and rebuild
            self.note = f"embeddings file set aside and rebuilt: {type(exc).__name__}: {str(exc)[:200]}"
            log.warning("%s (%s)", self.note, self.path)
            try:
                os.replace(self.path, self.path + ".bad")
            except OSError:
                pass
            return False
        self.digests = {int(i): str(d) for i, d in zip(ids.tolist(), digests.tolist(), strict=False)}
        self.snapshot = make_snapshot(ids, vectors)
        self.loaded_from_disk = True
        return True

    def _meta(self) -> str:
        return f"lora-manager-vectors/{FORMAT}/{self.model}/{self.dim}"

    def apply(self, upserts: list[tuple[int, str]], vectors, removed: set[int]) -> None:
        """Add or replace rows (ids with their text digests, vectors in the same order), drop `removed`."""
        import numpy as np

        with self._lock:
            old = self.snapshot
            replaced = {lid for lid, _ in upserts} | set(removed)
            keep = [r for lid, r in old.pos.items() if lid not in replaced]
            keep.sort()
            new_ids = [lid for lid, _ in upserts]
            ids = np.concatenate([old.ids[keep], np.asarray(new_ids, dtype=np.int64)])
            vecs = np.concatenate([old.vectors[keep], np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)])
            for lid in removed:
                self.digests.pop(lid, None)
            for lid, digest in upserts:
                self.digests[lid] = digest
            self.snapshot = make_snapshot(ids, vecs)

    def save(self) -> None:
        """Write atomically: a temporary file beside the real one, then a rename."""
        import numpy as np

        snap = self.snapshot
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        digests = np.array([self.digests.get(int(i), "") for i in snap.ids.tolist()], dtype="U32")
        tmp = f"{self.path}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            with open(tmp, "wb") as f:
                np.savez(f, meta=np.array(self._meta()), ids=snap.ids, vectors=snap.vectors, digests=digests)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)


def _empty(dim: int):
    import numpy as np

    return np.zeros((0, dim), dtype=np.float32)
