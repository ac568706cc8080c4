"""The SQL of recipes in an export and an import (transfer/recipes.py): every recipe read out with its
stack and tags, and an import's new and changed recipes written inside the import's one transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from ..library.clock import utcnow
from .recipe_models import Recipe, RecipeLora, RecipeTag
from .recipe_store import LORA_COLUMNS, RECIPE_COLUMNS, _search_text

R, RL, RT = Recipe.__table__, RecipeLora.__table__, RecipeTag.__table__


def read_recipes(conn) -> list[dict[str, Any]]:
    """Every recipe in id order: its columns, id, created_at (a datetime), `loras` in order and `tags`."""
    rows = [dict(r._mapping) for r in conn.execute(select(R).order_by(R.c.id))]
    loras: dict[int, list[dict[str, Any]]] = {r["id"]: [] for r in rows}
    tags: dict[int, list[str]] = {r["id"]: [] for r in rows}
    for lo in conn.execute(select(RL).order_by(RL.c.recipe_id, RL.c.position)).mappings():
        loras.setdefault(lo["recipe_id"], []).append({k: lo[k] for k in LORA_COLUMNS})
    for rid, tag in conn.execute(select(RT.c.recipe_id, RT.c.tag).order_by(RT.c.recipe_id, RT.c.tag)):
        tags.setdefault(rid, []).append(tag)
    return [{**{k: r[k] for k in RECIPE_COLUMNS}, "id": r["id"], "created_at": r["created_at"],
             "loras": loras[r["id"]], "tags": tags[r["id"]]} for r in rows]


def write_recipes(conn, added: list[dict[str, Any]], changed: list[tuple[int, dict[str, Any]]]) -> None:
    """New recipes (their columns, `created_at` or now, `loras`, `tags`) and changes to existing ones."""
    now = utcnow()
    for values in added:
        row = {k: values.get(k) for k in RECIPE_COLUMNS}
        row.update(params=values.get("params") or {}, notes=values.get("notes") or "",
                   prompt=values.get("prompt") or "", negative_prompt=values.get("negative_prompt") or "",
                   search=_search_text(values), created_at=values.get("created_at") or now, updated_at=now)
        rid = conn.execute(R.insert().values(**row)).inserted_primary_key[0]
        _children(conn, int(rid), values)
    for rid, values in changed:
        row = {k: values[k] for k in RECIPE_COLUMNS if k in values}
        conn.execute(update(R).where(R.c.id == rid).values(**row, search=_search_text(values), updated_at=now))
        _children(conn, rid, values)


def _children(conn, rid: int, values: dict[str, Any]) -> None:
    conn.execute(delete(RL).where(RL.c.recipe_id == rid))
    rows = [{"recipe_id": rid, "position": i, **{k: lo.get(k) for k in LORA_COLUMNS}}
            for i, lo in enumerate(values.get("loras") or [])]
    for r in rows:
        r["weight"] = 1.0 if r["weight"] is None else r["weight"]
    if rows:
        conn.execute(RL.insert(), rows)
    conn.execute(delete(RT).where(RT.c.recipe_id == rid))
    if values.get("tags"):
        conn.execute(RT.insert(), [{"recipe_id": rid, "tag": t} for t in values["tags"]])
