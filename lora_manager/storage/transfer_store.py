"""The SQL of export and import (transfer/): reading user data, collections, recipes and usage out, and
writing an import's changes in one transaction, all or nothing (docs/transfer.md)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, bindparam, delete, func, insert, select, update

from ..library.clock import as_utc as utc
from ..usage.rollup_fold import aggregate
from . import rollups
from .base import H, LH
from .db import refresh_search
from .recipe_transfer import read_recipes, write_recipes
from .models import Collection, CollectionItem, Generation, GenerationLora, Lora, LoraTag, LoraUser, RecommendFeedback

L, U, T = Lora.__table__, LoraUser.__table__, LoraTag.__table__
C, CI = Collection.__table__, CollectionItem.__table__
G, GL, F = Generation.__table__, GenerationLora.__table__, RecommendFeedback.__table__
USER_COLUMNS = tuple(c.name for c in U.c if c.name not in ("lora_id", "updated_at"))
GEN_COLUMNS = tuple(c.name for c in G.c if c.name != "id")
GL_COLUMNS = tuple(c.name for c in GL.c if c.name != "generation_id")
IDENTITY = (L.c.id, L.c.path, L.c.root, L.c.folder, L.c.file_name, L.c.prompt_name, H.c.sha256, H.c.tensor_sha256,
            L.c.header_hash, L.c.size, L.c.state, L.c.previews, L.c.triggers, L.c.description)
BATCH = 2000

@dataclass
class Changes:
    """An import's writes. `user`: lora id -> changed user columns; `tags`: lora id -> the full new list;
    `collections`: (name, created_at, lora ids, replace members?); `generations`: batches of
    (generation row, its LoRA rows), applied with their rollups."""

    user: dict[int, dict[str, Any]] = field(default_factory=dict)
    tags: dict[int, list[str]] = field(default_factory=dict)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    collections: list[tuple[str, datetime | None, list[int], bool]] = field(default_factory=list)
    generations: Iterable[list[tuple[dict[str, Any], list[dict[str, Any]]]]] = ()
    recipes: list[dict[str, Any]] = field(default_factory=list)  # new recipes, whole
    recipe_changes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (id, the recipe as it becomes)


class TransferStore(ABC):
    @abstractmethod
    def identities(self) -> list[dict[str, Any]]:
        """Every indexed file: id, path, root, names, hashes, size, state, previews."""

    @abstractmethod
    def user_data(self) -> dict[int, dict[str, Any]]:
        """lora id -> its user columns, `tags` and `feedback` (only LoRAs with any of them)."""

    @abstractmethod
    def collections(self) -> list[dict[str, Any]]:
        """[{name, created_at, lora_ids}] by name."""

    @abstractmethod
    def recipes(self) -> list[dict[str, Any]]:
        """Every recipe in id order: its columns, id, created_at, `loras` (the stack in order) and `tags`."""

    @abstractmethod
    def generation_count(self) -> int: ...

    @abstractmethod
    def generations(self) -> Iterator[list[dict[str, Any]]]:
        """Recorded generations in time order, in batches, each with `loras` (its LoRA rows)."""

    @abstractmethod
    def generation_keys(self, since: datetime, until: datetime) -> set[tuple]:
        """(started_at, seed, prompt) of the generations recorded between the two moments (inclusive)."""

    @abstractmethod
    def sidecar_rows(self, ids: list[int] | None = None) -> list[dict[str, Any]]:
        """LoRAs with user data (or `ids`): path, state, extracted triggers, description, and the user's
        triggers, preferred weight, notes and negative text (what write-back puts in `<base>.json`)."""

    @abstractmethod
    def apply(self, changes: Changes) -> dict[str, int]:
        """Write everything in one transaction; returns counts written. Nothing is written on failure."""


class SqlTransferStore(TransferStore):
    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name

    def identities(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(*IDENTITY).select_from(LH).order_by(L.c.id))]

    def user_data(self) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(select(U)):
                out[r.lora_id] = {**{c: getattr(r, c) for c in USER_COLUMNS}, "updated_at": r.updated_at,
                                  "tags": [], "feedback": []}
            for lid, tag in conn.execute(select(T.c.lora_id, T.c.tag).order_by(T.c.lora_id, T.c.tag)):
                out.setdefault(lid, _blank())["tags"].append(tag)
            for r in conn.execute(select(F).order_by(F.c.lora_id, F.c.user)):
                out.setdefault(r.lora_id, _blank())["feedback"].append(
                    {"user": r.user, "accepts": r.accepts, "dismisses": r.dismisses, "downs": r.downs,
                     "updated_at": r.updated_at})
        return out

    def collections(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(C.c.id, C.c.name, C.c.created_at).order_by(C.c.name)).all()
            members: dict[int, list[int]] = {}
            for cid, lid in conn.execute(select(CI.c.collection_id, CI.c.lora_id).order_by(CI.c.lora_id)):
                members.setdefault(cid, []).append(lid)
        return [{"name": name, "created_at": created, "lora_ids": members.get(cid, [])} for cid, name, created in rows]

    def recipes(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return read_recipes(conn)

    def generation_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(G)).scalar_one())

    def generations(self) -> Iterator[list[dict[str, Any]]]:
        last: tuple | None = None
        while True:  # keyset pages in (started_at, id) order: no long-lived cursor, constant memory
            with self.engine.connect() as conn:
                q = select(G).order_by(G.c.started_at, G.c.id).limit(BATCH)
                if last is not None:
                    q = q.where((G.c.started_at > last[0]) | and_(G.c.started_at == last[0], G.c.id > last[1]))
                gens = [dict(r._mapping) for r in conn.execute(q)]
                if not gens:
                    return
                by_id = {g["id"]: {**g, "loras": []} for g in gens}
                q = select(GL).where(GL.c.generation_id.in_(list(by_id))).order_by(GL.c.generation_id, GL.c.position)
                for r in conn.execute(q):
                    by_id[r.generation_id]["loras"].append({c: getattr(r, c) for c in GL_COLUMNS})
            last = (gens[-1]["started_at"], gens[-1]["id"])
            yield list(by_id.values())

    def generation_keys(self, since: datetime, until: datetime) -> set[tuple]:
        with self.engine.connect() as conn:
            q = select(G.c.started_at, G.c.seed, G.c.prompt).where(G.c.started_at >= since, G.c.started_at <= until)
            return {generation_key(r[0], r[1], r[2]) for r in conn.execute(q)}

    def sidecar_rows(self, ids: list[int] | None = None) -> list[dict[str, Any]]:
        cols = (L.c.id, L.c.path, L.c.state, L.c.triggers, L.c.description, U.c.triggers.label("u_triggers"),
                U.c.preferred_weight, U.c.notes, U.c.negative_text)
        q = select(*cols).select_from(L.join(U, U.c.lora_id == L.c.id)).order_by(L.c.id)
        out: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            for part in ([None] if ids is None else list(_chunks(sorted(set(ids))))):
                page = q if part is None else q.where(L.c.id.in_(part))
                out += [dict(r._mapping) for r in conn.execute(page)]
        return out

    # ------------------------------------------------------------------ writing
    def apply(self, changes: Changes) -> dict[str, int]:
        written = {"user_rows": 0, "tag_sets": 0, "feedback": 0, "collections": 0, "generations": 0, "recipes": 0}
        with self.engine.begin() as conn:
            ids = sorted(set(changes.user) | set(changes.tags) | {f["lora_id"] for f in changes.feedback})
            for part in _chunks(ids):  # every writer takes its loras rows first, in id order (docs/data-safety.md)
                conn.execute(select(L.c.id).where(L.c.id.in_(part)).order_by(L.c.id).with_for_update()).all()
            self._user(conn, changes.user)
            tagged = sorted(changes.tags)
            for part in _chunks(tagged):
                conn.execute(delete(T).where(T.c.lora_id.in_(part)))
            rows = [{"lora_id": lid, "tag": t} for lid in tagged for t in changes.tags[lid]]
            if rows:
                conn.execute(insert(T), rows)
            searched = [i for i in ids
                        if i in changes.tags or {"triggers", "display_name"} & set(changes.user.get(i, {}))]
            if searched:
                refresh_search(conn, searched, part_size=2000)
            self._feedback(conn, changes.feedback)
            for name, created, members, replace in changes.collections:
                self._collection(conn, name, created, members, replace)
            write_recipes(conn, changes.recipes, changes.recipe_changes)
            for batch in changes.generations:
                written["generations"] += self._generations(conn, batch)
        written.update(user_rows=len(changes.user), tag_sets=len(changes.tags), feedback=len(changes.feedback),
                       collections=len(changes.collections), recipes=len(changes.recipes) + len(changes.recipe_changes))
        return written

    def _user(self, conn, values: dict[int, dict[str, Any]]) -> None:
        if not values:
            return
        now = datetime.now().astimezone()
        have: set[int] = set()
        for part in _chunks(sorted(values)):
            have |= set(conn.execute(select(U.c.lora_id).where(U.c.lora_id.in_(part))).scalars())
        new = [{"lora_id": i, "favorite": False, "updated_at": now} for i in sorted(values) if i not in have]
        if new:
            conn.execute(insert(U), new)
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for lid, cols in sorted(values.items()):  # one executemany per set of columns changed
            if cols:
                by_columns.setdefault(tuple(sorted(cols)), []).append({"b_id": lid,
                                                                       **{f"b_{k}": v for k, v in cols.items()}})
        for columns, rows in by_columns.items():
            stmt = update(U).where(U.c.lora_id == bindparam("b_id")).values(
                {**{c: bindparam(f"b_{c}") for c in columns}, "updated_at": now})
            conn.execute(stmt, rows)

    def _feedback(self, conn, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            key = (F.c.user == row["user"]) & (F.c.lora_id == row["lora_id"])
            if conn.execute(select(F.c.lora_id).where(key)).first() is None:
                conn.execute(insert(F), [row])
            else:
                conn.execute(
                    update(F).where(key).values(**{k: v for k, v in row.items() if k not in ("user", "lora_id")})
                )

    def _collection(self, conn, name: str, created: datetime | None, members: list[int], replace: bool) -> None:
        cid = conn.execute(select(C.c.id).where(C.c.name == name)).scalar()
        if cid is None:
            cid = conn.execute(insert(C).values(name=name, created_at=created or datetime.now().astimezone())
                               .returning(C.c.id)).scalar_one()
        if replace:
            conn.execute(delete(CI).where(CI.c.collection_id == cid))
            have: set[int] = set()
        else:
            have = set(conn.execute(select(CI.c.lora_id).where(CI.c.collection_id == cid)).scalars())
        rows = [{"collection_id": cid, "lora_id": i} for i in sorted(set(members) - have)]
        if rows:
            conn.execute(insert(CI), rows)

    def _generations(self, conn, batch: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> int:
        if not batch:
            return 0
        gen_ids = conn.execute(G.insert().returning(G.c.id, sort_by_parameter_order=True),
                               [g for g, _ in batch]).scalars().all()
        gen_rows, lora_rows = [], []
        for gid, (g, loras) in zip(gen_ids, batch, strict=True):
            gen_rows.append({"id": gid, **g})
            lora_rows += [{"generation_id": gid, **r} for r in loras]
        if lora_rows:
            conn.execute(insert(GL), lora_rows)
        # The analytics' rollups move with the events, as when the recorder writes them.
        words = rollups.trigger_words(conn, {r["lora_id"] for r in lora_rows if r["status"] == "applied"})
        rollups.apply(conn, self.dialect, aggregate(gen_rows, lora_rows, words))
        return len(gen_rows)


def generation_key(started_at: datetime, seed: int | None, prompt: str | None) -> tuple:
    """One recorded generation, the same on either machine: a re-import adds nothing twice."""
    return (utc(started_at).replace(tzinfo=None).isoformat(timespec="microseconds"), seed, prompt or "")


def _blank() -> dict[str, Any]:
    return {**dict.fromkeys(USER_COLUMNS), "favorite": False, "updated_at": None, "tags": [], "feedback": []}


def _chunks(items: list, size: int = 500) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
