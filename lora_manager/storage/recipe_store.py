"""The SQL of recipes (storage/recipe_models.py): saved, listed with search and filters, edited, deleted;
and the one read of a recorded generation a recipe is made from.

`RecipeStore` is the contract the recipe service uses; `SqlRecipeStore` implements it over the database
(`Db`: SQLite or PostgreSQL).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, literal, or_, select, update

from ..library.clock import iso, utcnow
from .db import Db
from .models import Generation, GenerationLora
from .recipe_models import Recipe, RecipeLora, RecipeTag

R = Recipe.__table__
RL = RecipeLora.__table__
RT = RecipeTag.__table__
G = Generation.__table__
GL = GenerationLora.__table__
LORA_COLUMNS = [c.name for c in RL.c if c.name not in ("recipe_id", "position")]
RECIPE_COLUMNS = [c.name for c in R.c if c.name not in ("id", "search", "created_at", "updated_at")]
MAX_LIMIT = 500


@dataclass(slots=True, frozen=True)
class LoraFilter:
    """Recipes that use one LoRA: by its full or tensor hash (a stored prefix matches too), or by name
    where a recipe's LoRA carries no hash."""

    name: str
    sha256: str | None = None
    tensor_sha256: str | None = None


class RecipeStore(abc.ABC):
    @abc.abstractmethod
    def create(self, values: dict[str, Any]) -> int:
        """Store a recipe (`values`: the columns, `loras` and `tags`); its new id."""

    @abc.abstractmethod
    def update(self, recipe_id: int, values: dict[str, Any]) -> bool:
        """Change the columns given; `loras` or `tags`, when given, replace the old ones. False: no such recipe."""

    @abc.abstractmethod
    def get(self, recipe_id: int) -> dict[str, Any] | None:
        """One recipe with its LoRAs (in order) and tags."""

    @abc.abstractmethod
    def list(self, *, q: str | None = None, tag: str | None = None, lora: LoraFilter | None = None,
             limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """{total, items}: newest first, by words of title, prompt, tags and LoRA names, a tag, a LoRA."""

    @abc.abstractmethod
    def delete(self, recipe_id: int) -> dict[str, Any] | None:
        """Remove a recipe; the row as it was (its cover's name), or None."""

    @abc.abstractmethod
    def tags(self) -> list[tuple[str, int]]:
        """Recipe tags with counts, by name."""

    @abc.abstractmethod
    def generation(self, event_id: int) -> dict[str, Any] | None:
        """A recorded generation (usage) with the LoRAs it asked for, for a recipe made from it."""


def _search_text(values: dict[str, Any]) -> str:
    parts = [values.get("title") or "", values.get("prompt") or "", " ".join(values.get("tags") or []),
             " ".join(lo["name"] for lo in values.get("loras") or []), values.get("checkpoint") or ""]
    return " ".join(" ".join(parts).lower().split())[:20_000]


def _like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SqlRecipeStore(RecipeStore):
    def __init__(self, db: Db):
        self.db = db
        self.engine = db.engine

    def create(self, values: dict[str, Any]) -> int:
        now = utcnow()
        row = {k: values.get(k) for k in RECIPE_COLUMNS}
        row.update(params=values.get("params") or {}, notes=values.get("notes") or "",
                   prompt=values.get("prompt") or "", negative_prompt=values.get("negative_prompt") or "",
                   search=_search_text(values), created_at=now, updated_at=now)
        with self.engine.begin() as conn:
            rid = conn.execute(R.insert().values(**row)).inserted_primary_key[0]
            self._children(conn, rid, values)
        return int(rid)

    def update(self, recipe_id: int, values: dict[str, Any]) -> bool:
        with self.engine.begin() as conn:
            current = conn.execute(select(R).where(R.c.id == recipe_id)).mappings().first()
            if current is None:
                return False
            row = {k: values[k] for k in RECIPE_COLUMNS if k in values}
            merged = {**self._read(conn, recipe_id, current), **values}
            row.update(search=_search_text(merged), updated_at=utcnow())
            conn.execute(update(R).where(R.c.id == recipe_id).values(**row))
            self._children(conn, recipe_id, values)
        return True

    def _children(self, conn, rid: int, values: dict[str, Any]) -> None:
        if values.get("loras") is not None:
            conn.execute(delete(RL).where(RL.c.recipe_id == rid))
            rows = [{"recipe_id": rid, "position": i, **{k: lo.get(k) for k in LORA_COLUMNS}}
                    for i, lo in enumerate(values["loras"])]
            for r in rows:
                r["weight"] = 1.0 if r["weight"] is None else r["weight"]
            if rows:
                conn.execute(RL.insert(), rows)
        if values.get("tags") is not None:
            conn.execute(delete(RT).where(RT.c.recipe_id == rid))
            if values["tags"]:
                conn.execute(RT.insert(), [{"recipe_id": rid, "tag": t} for t in values["tags"]])

    def get(self, recipe_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(R).where(R.c.id == recipe_id)).mappings().first()
            return None if row is None else self._read(conn, recipe_id, row)

    def _read(self, conn, rid: int, row) -> dict[str, Any]:
        return self._many(conn, [row])[0]

    def _many(self, conn, rows) -> list[dict[str, Any]]:
        ids = [r["id"] for r in rows]
        loras: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        tags: dict[int, list[str]] = {i: [] for i in ids}
        if ids:
            for lo in conn.execute(select(RL).where(RL.c.recipe_id.in_(ids)).order_by(RL.c.recipe_id, RL.c.position)
                                   ).mappings():
                loras[lo["recipe_id"]].append({k: lo[k] for k in LORA_COLUMNS})
            for rid, tag in conn.execute(select(RT.c.recipe_id, RT.c.tag).where(RT.c.recipe_id.in_(ids))
                                         .order_by(RT.c.tag)):
                tags[rid].append(tag)
        out = []
        for r in rows:
            item = {k: r[k] for k in RECIPE_COLUMNS}
            item.update(id=r["id"], created_at=iso(r["created_at"]), updated_at=iso(r["updated_at"]),
                        loras=loras[r["id"]], tags=tags[r["id"]])
            out.append(item)
        return out

    def list(self, *, q=None, tag=None, lora=None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        limit = max(1, min(limit, MAX_LIMIT))
        conds = []
        for word in (q or "").lower().split()[:10]:
            conds.append(R.c.search.like(_like(word), escape="\\"))
        if tag:
            conds.append(R.c.id.in_(select(RT.c.recipe_id).where(RT.c.tag == tag.strip().lower())))
        if lora is not None:
            match = [and_(RL.c.sha256.is_(None), RL.c.tensor_sha256.is_(None), RL.c.name == lora.name)]
            if lora.sha256:
                match.append(and_(RL.c.sha256.isnot(None), literal(lora.sha256).startswith(RL.c.sha256)))
            if lora.tensor_sha256:
                match.append(and_(RL.c.tensor_sha256.isnot(None),
                                  literal(lora.tensor_sha256).startswith(RL.c.tensor_sha256)))
            conds.append(R.c.id.in_(select(RL.c.recipe_id).where(or_(*match))))
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(R).where(*conds)).scalar_one()
            rows = conn.execute(select(R).where(*conds).order_by(R.c.created_at.desc(), R.c.id.desc())
                                .limit(limit).offset(max(0, offset))).mappings().all()
            return {"total": int(total), "limit": limit, "offset": offset, "items": self._many(conn, rows)}

    def delete(self, recipe_id: int) -> dict[str, Any] | None:
        with self.engine.begin() as conn:
            row = conn.execute(select(R).where(R.c.id == recipe_id)).mappings().first()
            if row is None:
                return None
            out = self._read(conn, recipe_id, row)
            # SQLite enforces the cascade (foreign_keys=ON); deleting the children first works everywhere.
            conn.execute(delete(RL).where(RL.c.recipe_id == recipe_id))
            conn.execute(delete(RT).where(RT.c.recipe_id == recipe_id))
            conn.execute(delete(R).where(R.c.id == recipe_id))
        return out

    def tags(self) -> list[tuple[str, int]]:
        with self.engine.connect() as conn:
            q = select(RT.c.tag, func.count()).group_by(RT.c.tag).order_by(RT.c.tag)
            return [(t, int(n)) for t, n in conn.execute(q)]

    def generation(self, event_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(G).where(G.c.id == event_id)).mappings().first()
            if row is None:
                return None
            loras = [dict(r) for r in conn.execute(
                select(GL.c.prompt_name, GL.c.lora_id, GL.c.requested_weight, GL.c.requested_te,
                       GL.c.requested_unet, GL.c.status).where(GL.c.generation_id == event_id)
                .order_by(GL.c.position)).mappings()]
        return {**dict(row), "loras": loras}
