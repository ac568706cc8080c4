"""What the recommender says about itself (`GET /recommendations/status`): its mode and why, the model,
the vector index and the library read, the build under way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .service import Recommender


def status_of(rec: Recommender) -> dict[str, Any]:
    corpus, store, emb = rec._corpus, rec.store, rec.embedder
    state = "disabled" if rec.disabled else emb.state
    reason = None
    if rec.mode == "lexical":
        if rec.disabled:
            reason = "the model is turned off (LORA_MANAGER_EMBED_MODEL=off)"
        elif emb.state == "failed":
            reason = f"the model could not be loaded: {emb.error}"
        elif emb.state == "downloading":
            reason = "fetching the model (once, into the Hugging Face cache)"
        elif emb.state in ("idle", "loading"):
            reason = "the model is loading" if rec._thread is not None else "not started yet (starts on first use)"
        else:
            reason = "embedding the library"
    return {
        "mode": rec.mode,
        "reason": reason,
        "model": {"name": emb.model_name, "path": emb.path, "source": emb.source, "device": emb.device,
                  "state": state, "error": emb.error, "dim": emb.dim, "download": emb.download_status()},
        "index": {"size": store.snapshot.size if store else 0,
                  "library": len(corpus) if corpus is not None else None,
                  "file": store.path if store else None, "loaded_from_disk": bool(store and store.loaded_from_disk),
                  "note": store.note if store else None},
        "build": dict(rec.build),
    }
