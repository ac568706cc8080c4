"""The recipe store on SQLite and PostgreSQL: children in order, search, tag and LoRA filters (hash prefixes
and names), updates that replace children only when given, delete, and a recorded generation read back."""

from __future__ import annotations

from datetime import datetime, timezone

from lora_manager.storage.recipe_store import LoraFilter, SqlRecipeStore
from lora_manager.storage.usage_store import SqlUsageStore

SHA = "ab" * 32
TSHA = "cd" * 32


def _recipe(**kw):
    base = {"title": "T", "prompt": "p", "negative_prompt": "", "loras": [], "tags": [], "params": {}, "notes": "",
            "source": "manual"}
    return {**base, **kw}


def test_children_search_filters_update_delete(db):
    store = SqlRecipeStore(db)
    a = store.create(_recipe(title="Neon city", prompt="a city at night", tags=["urban", "night"], params={"x": 1},
                             loras=[{"name": "neon", "weight": 0.8, "sha256": SHA[:10]},
                                    {"name": "rain", "weight": 0.5, "te": 0.3, "blocks": "in=0:out=1"}]))
    b = store.create(_recipe(title="Forest", prompt="deep woods", tags=["nature"],
                             loras=[{"name": "moss", "tensor_sha256": TSHA[:12]}, {"name": "neon"}]))
    got = store.get(a)
    assert [lo["name"] for lo in got["loras"]] == ["neon", "rain"] and got["loras"][1]["te"] == 0.3
    assert got["loras"][1]["blocks"] == "in=0:out=1" and got["tags"] == ["night", "urban"] and got["params"] == {"x": 1}
    assert got["created_at"].endswith("Z") or "+" in got["created_at"]

    def ids(**kw):
        return [r["id"] for r in store.list(**kw)["items"]]

    assert ids() == [b, a]  # newest first
    assert ids(q="CITY night") == [a] and ids(q="woods") == [b] and ids(q="moss") == [b] and ids(q="100%") == []
    assert ids(tag="nature") == [b] and ids(tag="none") == []
    # neon in `a` carries an AutoV2 prefix of SHA: a LoRA with that full hash finds it; `b`'s neon has no hash:
    # found by name
    assert ids(lora=LoraFilter("neon", SHA, None)) == [b, a]
    assert ids(lora=LoraFilter("renamed", SHA, None)) == [a]
    assert ids(lora=LoraFilter("other", "ef" * 32, TSHA)) == [b]
    assert ids(lora=LoraFilter("neon", "ef" * 32, None)) == [b]  # a's neon is another file (hash differs)
    page = store.list(limit=1, offset=1)
    assert page["total"] == 2 and [r["id"] for r in page["items"]] == [a]

    assert store.update(a, {"notes": "n", "title": "Neon town"})
    again = store.get(a)
    assert again["notes"] == "n" and len(again["loras"]) == 2 and again["tags"] == ["night", "urban"]
    assert ids(q="town") == [a] and ids(q="city") == [a]  # the search text follows the edit (prompt kept)
    assert store.update(a, {"loras": [{"name": "solo"}], "tags": []})
    assert [lo["name"] for lo in store.get(a)["loras"]] == ["solo"] and store.get(a)["tags"] == []
    assert store.get(a)["loras"][0]["weight"] == 1.0
    assert not store.update(9999, {"notes": "x"})
    assert store.tags() == [("nature", 1)]

    gone = store.delete(b)
    assert gone["title"] == "Forest" and store.get(b) is None and store.delete(b) is None
    assert ids(lora=LoraFilter("moss", None, TSHA)) == []


def test_a_recorded_generation_for_a_recipe(db):
    usage = SqlUsageStore(db)
    [gid] = usage.record_generations([{
        "started_at": datetime(2026, 5, 1, tzinfo=timezone.utc), "outcome": "done", "source": "ui", "seed": 3,
        "steps": 10, "prompt": "x <lora:a:0.5> <lora:b>", "requested": [{"name": "a", "weight": 0.5},
                                                                       {"name": "b", "weight": 1.0}],
        "applied": []}])
    gen = SqlRecipeStore(db).generation(gid)
    assert gen["prompt"] == "x <lora:a:0.5> <lora:b>" and gen["seed"] == 3
    assert [(lo["prompt_name"], lo["requested_weight"]) for lo in gen["loras"]] == [("a", 0.5), ("b", 1.0)]
    assert SqlRecipeStore(db).generation(gid + 100) is None
