"""All-time analytics from the rollups: one row per LoRA, pair or word, paged in SQL.

(Ranged reads are in `range_store`; the raw events in `usage_store`.)"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from sqlalchemy import func, select

from ..library.clock import parse_utc as _utc
from .base import L
from .db import Db
from .rollups import FAM, PAIR, TOT, WEI
from .scan_store import PRESENT


class AnalyticsStore(ABC):
    """All-time figures, read from the rollups (never from the raw events)."""

    @abstractmethod
    def co_usage(self, limit: int = 20) -> list[dict[str, Any]]:
        """[{a, b, generations}]: the pairs of LoRAs applied together most often, of all time."""

    @abstractmethod
    def lora_failure_totals(self) -> dict[str, int]:
        """{not_found, not_applied}: LoRAs asked for that the library lacks or the host did not apply."""

    @abstractmethod
    def rollup_loras(self, order: str, descending: bool, limit: int, offset: int,
                     used_only: bool = False) -> tuple[int, list[dict[str, Any]]]:
        """(total, a page of per-LoRA totals) sorted by uses, last_used or name; each row with mean_ms."""

    @abstractmethod
    def rollup_lora(self, prompt_name: str) -> list[dict[str, Any]]:
        """The all-time totals row of one LoRA by its prompt name ([] when never asked for)."""

    @abstractmethod
    def rollup_weights_families(self, names: list[str]) -> tuple[list, list]:
        """(weights, families) of the given prompt names: [(None, name, weight, n)], [(None, name, family, n)]."""

    @abstractmethod
    def never_used_largest(self, limit: int = 50) -> list[dict[str, Any]]:
        """[{id, prompt_name, size}]: the largest LoRAs on disk never applied."""


class SqlAnalyticsStore(AnalyticsStore):
    def __init__(self, db: Db):
        self.db = db

    def co_usage(self, limit: int = 20) -> list[dict[str, Any]]:
        """The most frequent pairs of all time (ranges add up the per-day pairs instead)."""
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                select(PAIR.c.a, PAIR.c.b, PAIR.c.n).order_by(PAIR.c.n.desc(), PAIR.c.a, PAIR.c.b).limit(limit)
            )
            return [{"a": a, "b": b, "generations": int(n)} for a, b, n in rows]

    def lora_failure_totals(self) -> dict[str, int]:
        with self.db.engine.connect() as conn:
            nf, na = conn.execute(select(func.coalesce(func.sum(TOT.c.not_found), 0),
                                         func.coalesce(func.sum(TOT.c.not_applied), 0))).one()
        return {"not_found": int(nf), "not_applied": int(na)}

    # --- all-time answers straight from the rollups, paged in SQL ----------------
    def rollup_loras(self, order: str, descending: bool, limit: int, offset: int,
                     used_only: bool = False) -> tuple[int, list[dict[str, Any]]]:
        col = {"uses": TOT.c.uses, "last_used": TOT.c.last_used, "name": TOT.c.prompt_name}[order]
        conds = [TOT.c.uses > 0] if used_only else []
        q = (select(TOT).where(*conds).order_by(col.desc() if descending else col.asc(), TOT.c.prompt_name)
             .limit(limit).offset(offset))
        with self.db.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(TOT).where(*conds)).scalar_one()
            rows = conn.execute(q).mappings().all()
        items = [{**dict(r), "first_used": _utc(r["first_used"]), "last_used": _utc(r["last_used"]),
                  "mean_ms": (r["sum_ms"] / r["timed"]) if r["timed"] else None} for r in rows]
        return int(total), items

    def rollup_lora(self, prompt_name: str) -> list[dict[str, Any]]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(TOT).where(TOT.c.prompt_name == prompt_name)).mappings().all()
        return [{**dict(r), "first_used": _utc(r["first_used"]), "last_used": _utc(r["last_used"])} for r in rows]

    def rollup_weights_families(self, names: list[str]) -> tuple[list, list]:
        with self.db.engine.connect() as conn:
            weights = [
                (None, p, float(w), n)
                for p, w, n in conn.execute(
                    select(WEI.c.prompt_name, WEI.c.weight, WEI.c.n).where(WEI.c.prompt_name.in_(names))
                )
            ]
            families = [
                (None, p, f, n)
                for p, f, n in conn.execute(
                    select(FAM.c.prompt_name, FAM.c.family, FAM.c.n).where(FAM.c.prompt_name.in_(names))
                )
            ]
        return weights, families

    def never_used_largest(self, limit: int = 50) -> list[dict[str, Any]]:
        """The largest LoRAs on disk never used (their count and bytes: `never_used_count`)."""
        used = select(TOT.c.lora_id).where(TOT.c.lora_id == L.c.id, TOT.c.uses > 0).exists()
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(L.c.id, L.c.prompt_name, L.c.size).where(L.c.state.in_(PRESENT), ~used)
                                .order_by(L.c.size.desc(), L.c.id).limit(limit)).all()
        return [{"id": i, "prompt_name": p, "size": s} for i, p, s in rows]

