"""A library with everything a user can say about it, on a real database, for the transfer tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from lora_manager.app import build
from lora_manager.settings import Settings
from lora_manager.storage.feedback_store import SqlFeedbackStore

from .conftest import pg_schema
from .loras import write_lora

USER_KEYS = ("favorite", "rating", "notes", "triggers", "preferred_weight", "weight_min", "weight_max", "negative_text",
             "base_model", "tags")


def write_library(root) -> None:
    write_lora(root / "alice.safetensors", metadata={"modelspec.trigger_phrase": "alice"})
    write_lora(root / "sub" / "bob.safetensors", family="xl", seed=2)
    write_lora(root / "carol.safetensors", seed=3)
    (root / "alice.preview.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"alice" * 20)


@pytest.fixture
def other_db_url(db_url, tmp_path):
    """A second, empty database of the same kind as `db_url` (the import's target)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/target.db"
        return
    with pg_schema() as url:
        yield url


def open_app(root, data_dir, db_url, **kw):
    core = build(Settings(lora_dirs=[str(root)], data_dir=str(data_dir), db_url=db_url, **kw))
    core.scan(wait_hashes=True)
    return core


def fill(core) -> None:
    """User data of every kind, collections, feedback and recorded usage."""
    cat = core.catalog
    cat.edit("alice",
             {"favorite": True, "notes": "my best", "triggers": ["alice", "red dress"], "preferred_weight": 0.7,
                       "tags": ["portrait", "keep"]})
    cat.edit("bob", {"rating": 4, "weight_min": 0.2, "weight_max": 0.9, "negative_text": "blurry", "base_model": "xl",
                     "tags": ["style"]})
    cat.bulk(["alice", "bob"], "collect", "best")
    cat.bulk(["carol"], "collect", "later")
    alice = cat.get("alice")["id"]
    SqlFeedbackStore(core.db).record_feedback("", alice, "accept")
    SqlFeedbackStore(core.db).record_feedback("ann", alice, "down")
    start = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
    events = []
    for i in range(30):
        names = ["alice", "bob"] if i % 3 else ["alice", "ghost"]
        requested = [{"name": n, "weight": 0.5 + (i % 4) / 10, "te": 1.0, "unet": 1.0} for n in names]
        applied = [{"name": n, "te": 1.0, "unet": 0.5 + (i % 4) / 10} for n in names if n != "ghost"]
        events.append({"started_at": start + timedelta(hours=7 * i),
                       "finished_at": start + timedelta(hours=7 * i, seconds=3),
                       "duration_ms": 3000, "outcome": ("done", "interrupted", "failed")[i % 3], "seed": 1000 + i,
                       "steps": 20, "width": 512, "height": 512, "checkpoint": "model.safetensors",
                       "checkpoint_family": "sd1", "prompt": f"alice in red dress {i}", "requested": requested,
                       "applied": applied})
    core.recorder.usage_store.record_generations(events)


def user_state(core) -> dict:
    """Everything compared after a round trip: per LoRA (by file name) its user fields, collections by name,
    feedback, and the usage figures per prompt name."""
    page = core.catalog.list(limit=100)
    loras = {e["name"]: {k: core.catalog.get(e["id"]).get(k) for k in USER_KEYS} for e in page.items}
    names = {e["id"]: e["name"] for e in page.items}
    collections = {c["name"]: sorted(names[i] for i in c["lora_ids"]) for c in core.catalog.collections()}
    feedback = {u: {names[i]: v for i, v in SqlFeedbackStore(core.db).feedback_counts(u).items()} for u in ("", "ann")}
    usage = {}
    for name in ("alice", "bob", "ghost", "carol"):
        figures = core.analytics.lora(name)
        usage[name] = None if figures is None else {k: v for k, v in figures.items() if k != "id"}
    summary = core.analytics.summary(None, None, "UTC", "day", 10)
    return {"loras": loras, "collections": collections, "feedback": feedback, "usage": usage,
            "generations": core.analytics.list_usage(limit=1000)["total"], "summary": summary}
