"""Recorded generations: written by the recorder, read by the usage API and the CSV export."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from ..errors import InvalidInput
from ..library.clock import iso
from ..usage.rollup_fold import aggregate
from ..usage.statuses import lora_rows
from . import rollups
from .base import L, chunks
from .db import Db
from .models import Generation, GenerationLora
from .scan_store import PRESENT

G = Generation.__table__
GL = GenerationLora.__table__
GEN_COLUMNS = [c.name for c in G.c if c.name != "id"]
MAX_USAGE_LIMIT = 1000


class UsageStore(ABC):
    """The raw events: one row per generation and one per LoRA it asked for or applied."""

    @abstractmethod
    def record_generations(self, events: list[dict[str, Any]]) -> list[int]:
        """Store generation events (see recorder.GenerationEvent.as_row), each LoRA's status decided by
        usage/statuses.py, and move the rollups in the same transaction. Returns the new ids."""

    @abstractmethod
    def list_usage(self, lora_id: int | None = None, prompt_name: str | None = None, since: datetime | None = None,
                   until: datetime | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """{total, limit, offset, items}: generations newest first, each with its LoRAs, filtered by a LoRA
        (id or the name asked for) and a range [since, until)."""

    @abstractmethod
    def raw_events(self, since: datetime | None = None, until: datetime | None = None,
                   batch: int = 5000) -> Iterator[Any]:
        """Generation rows joined with their LoRA rows, oldest first, streamed (the CSV export's columns)."""


class SqlUsageStore(UsageStore):
    def __init__(self, db: Db):
        self.db = db

    def record_generations(self, events: list[dict[str, Any]]) -> list[int]:
        """Store generation events (see recorder.GenerationEvent.as_row); returns their ids."""
        names = ({r["name"] for e in events for r in e.get("requested", [])}
                 | {a["name"] for e in events for a in e.get("applied", [])})
        ids: list[int] = []
        gen_rows: list[dict[str, Any]] = []
        all_rows: list[dict[str, Any]] = []
        with self.db.engine.begin() as conn:
            known = self._ids_by_prompt_name(conn, names)
            for event in events:
                values = {k: event.get(k) for k in GEN_COLUMNS}
                gid = conn.execute(G.insert().values(**values)).inserted_primary_key[0]
                ids.append(gid)
                gen_rows.append({"id": gid, **values})
                rows = lora_rows(gid, event, known)
                if rows:
                    conn.execute(GL.insert(), rows)
                    all_rows.extend(rows)
            # The dashboard's rollups move in the same transaction as the events.
            words = rollups.trigger_words(conn, {r["lora_id"] for r in all_rows if r["status"] == "applied"})
            rollups.apply(conn, self.db.dialect, aggregate(gen_rows, all_rows, words))
        return ids

    def _ids_by_prompt_name(self, conn, names: set[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for part in chunks(sorted(names)):
            q = (
                select(L.c.prompt_name, L.c.id)
                .where(L.c.prompt_name.in_(part))
                .order_by(L.c.state.in_(PRESENT).desc(), L.c.id)
            )
            for name, lid in conn.execute(q):
                out.setdefault(name, lid)
        return out

    def list_usage(self, lora_id: int | None = None, prompt_name: str | None = None, since: datetime | None = None,
                   until: datetime | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        if not 1 <= limit <= MAX_USAGE_LIMIT or offset < 0:
            raise InvalidInput(f"limit must be 1..{MAX_USAGE_LIMIT} and offset >= 0")
        conds = []
        if since is not None:
            conds.append(G.c.started_at >= since)
        if until is not None:
            conds.append(G.c.started_at < until)
        if lora_id is not None or prompt_name is not None:
            match = [GL.c.lora_id == lora_id] if lora_id is not None else []
            if prompt_name is not None:
                match.append(GL.c.prompt_name == prompt_name)
            conds.append(G.c.id.in_(select(GL.c.generation_id).where(or_(*match))))
        with self.db.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(G).where(*conds)).scalar_one()
            gens = (
                conn.execute(
                    select(G).where(*conds).order_by(G.c.started_at.desc(), G.c.id.desc()).limit(limit).offset(offset)
                )
                .mappings()
                .all()
            )
            loras: dict[int, list[dict[str, Any]]] = {}
            ids = [g["id"] for g in gens]
            if ids:
                for row in conn.execute(
                    select(GL).where(GL.c.generation_id.in_(ids)).order_by(GL.c.generation_id, GL.c.position)
                ).mappings():
                    item = {k: row[k] for k in ("prompt_name", "lora_id", "requested_weight", "requested_te",
                                                "requested_unet", "schedule", "applied", "applied_te", "applied_unet",
                                                "status")}
                    loras.setdefault(row["generation_id"], []).append(item)
        items = []
        for g in gens:
            item = {k: iso(v) for k, v in g.items()}
            item["loras"] = loras.get(g["id"], [])
            items.append(item)
        return {"total": int(total), "limit": limit, "offset": offset, "items": items}

    def raw_events(self, since=None, until=None, batch: int = 5000):
        """Generation rows joined with their LoRA rows, oldest first, streamed."""
        q = (select(G.c.id, G.c.started_at, G.c.finished_at, G.c.duration_ms, G.c.outcome, G.c.source, G.c.checkpoint,
                    G.c.checkpoint_family, G.c.seed, G.c.steps, G.c.width, G.c.height, G.c.sampler, GL.c.prompt_name,
                    GL.c.lora_id, GL.c.requested_weight, GL.c.applied_te, GL.c.applied_unet, GL.c.status)
             .select_from(G.outerjoin(GL, GL.c.generation_id == G.c.id)).where(*_range(since, until))
             .order_by(G.c.started_at, G.c.id, GL.c.position))
        with self.db.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(q)
            yield from result


def _range(since: datetime | None, until: datetime | None) -> list:
    conds = []
    if since is not None:
        conds.append(G.c.started_at >= since)
    if until is not None:
        conds.append(G.c.started_at < until)
    return conds
