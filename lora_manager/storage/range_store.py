"""Ranged reads over the rollups: whole units by key, whole UTC days summed, raw edges folded.

Analytics asks for exactly the units it needs (see `timeparts.cover`); a range
adds up whole UTC days from the per-day tables, and the raw events of the
partial days at its ends are read here and folded by analytics with the same
code the recorder uses (usage/rollup_fold.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, union_all

from ..usage.timeparts import floor_to
from . import rollups
from .analytics_store import _utc
from .base import L
from .db import Db
from .models import UsageRetention
from .rollups import COUNTERS, DAY, DFAM, DPAIR, DTRIG, DWEI, LDAY, LEVELS, SLOT, TOT, TRIG
from .scan_store import PRESENT
from .usage_store import G, GL

RET = UsageRetention.__table__


def _runs(units: list[datetime], seconds: int) -> list[tuple[datetime, datetime]]:
    """Contiguous runs [start, end) of sorted unit starts."""
    step = timedelta(seconds=seconds)
    runs: list[list[datetime]] = []
    for u in sorted(set(units)):
        if runs and runs[-1][1] == u:
            runs[-1][1] = u + step
        else:
            runs.append([u, u + step])
    return [(a, b) for a, b in runs]


class RangeStore(ABC):
    """Figures over a range: whole UTC days from the per-day rollups (`days`: (start, end) or None) plus
    the raw events of partial days (`edges`: [(start, end)]); and the compaction of old raw events."""

    @abstractmethod
    def usage_extent(self) -> tuple[datetime | None, datetime | None, datetime | None]:
        """(first quarter hour, last quarter hour, raw_since): the span any figure can cover."""

    @abstractmethod
    def unit_counts(self, level: str, units: list[datetime]) -> dict[datetime, dict[str, int]]:
        """{unit start: {outcome: generations}} for the given units of one level (slot, hour, day)."""

    @abstractmethod
    def day_generation_sums(self, a: datetime, b: datetime) -> list[tuple[str, str, int, int, int]]:
        """(outcome, family, generations, sum_ms, timed) over the UTC days in [a, b)."""

    @abstractmethod
    def ranged_loras(self, days: tuple | None, edges: list[tuple[datetime, datetime]], order: str, descending: bool,
                     limit: int, offset: int = 0, used_only: bool = False, names: list[str] | None = None,
                     with_total: bool = True) -> tuple[int, list[dict[str, Any]]]:
        """(total, a page of per-LoRA figures) over the range, sorted and paged in SQL."""

    @abstractmethod
    def ranged_top(self, days: tuple | None, edges: list[tuple[datetime, datetime]], top: int) -> dict[str, Any]:
        """{most, least: [{prompt_name, lora_id, uses, last_used}], not_found, not_applied} of the range."""

    @abstractmethod
    def ranged_never_used(self, days: tuple | None, edges: list[tuple[datetime, datetime]], top: int) -> dict[str, Any]:
        """{count, bytes, largest: [{id, prompt_name, size}]}: LoRAs on disk not applied in the range."""

    @abstractmethod
    def prompt_names(self, ids: list[int]) -> dict[int, str]:
        """{id: prompt name} of the ids that exist."""

    @abstractmethod
    def ranged_pairs(self, days: tuple | None, edges: list[tuple[datetime, datetime]],
                     limit: int) -> list[tuple[tuple, int]]:
        """[((a, b), generations)]: the pairs applied together most often in the range."""

    @abstractmethod
    def day_counter_sums(self, kind: str, a: datetime, b: datetime, names: list[str] | None = None) -> dict[tuple, int]:
        """Summed counters over the UTC days in [a, b): kind is weights, families, pairs or triggers."""

    @abstractmethod
    def raw_rows(self, a: datetime, b: datetime) -> tuple[list[dict], list[dict], dict[int, list[str]]]:
        """The raw events in [a, b) as the rollup fold takes them: (generations, their LoRA rows,
        trigger words per applied LoRA id)."""

    @abstractmethod
    def top_triggers(self, limit: int) -> list[tuple[str, int]]:
        """(word, generations): trigger words of applied LoRAs found in prompts, of all time."""

    @abstractmethod
    def never_used_count(self) -> tuple[int, int]:
        """(LoRAs on disk never used, their bytes)."""

    @abstractmethod
    def compact_usage(self, before: datetime) -> int:
        """Delete raw events that started before `before` (a UTC midnight; the rollups keep every figure).
        Returns how many generations were deleted."""


class SqlRangeStore(RangeStore):
    def __init__(self, db: Db):
        self.db = db

    def usage_extent(self) -> tuple[datetime | None, datetime | None, datetime | None]:
        """(first quarter hour, last quarter hour, raw_since): the span any figure can cover."""
        with self.db.engine.connect() as conn:
            first, last = conn.execute(select(func.min(SLOT.c.slot), func.max(SLOT.c.slot))).one()
            raw_since = conn.execute(select(RET.c.raw_since).where(RET.c.id == 1)).scalar()
        return _utc(first), _utc(last), _utc(raw_since)

    def unit_counts(self, level: str, units: list[datetime]) -> dict[datetime, dict[str, int]]:
        """{unit start: {outcome: generations}} for the given units of one level (slot, hour, day).

        Long runs of units are read as ranges, scattered ones by key: both walk the primary key
        (an OR of many ranges made SQLite test every row against each)."""
        table, col, seconds = LEVELS[level]
        c = table.c[col]
        out: dict[datetime, dict[str, int]] = {}
        runs = _runs(units, seconds)
        step = timedelta(seconds=seconds)
        long = [(a, b) for a, b in runs if b - a > step * 24]
        single: list[datetime] = []
        for a, b in runs:
            if b - a <= step * 24:
                single += [a + step * i for i in range((b - a) // step)]
        queries = [c.between(a, b - timedelta(seconds=seconds)) for a, b in long]
        queries += [c.in_(single[i:i + 500]) for i in range(0, len(single), 500)]
        with self.db.engine.connect() as conn:
            for cond in queries:
                q = select(c, table.c.outcome, func.sum(table.c.n)).where(cond).group_by(c, table.c.outcome)
                for unit, outcome, n in conn.execute(q):
                    out.setdefault(_utc(unit), {})[outcome] = int(n)
        return out

    def day_generation_sums(self, a: datetime, b: datetime) -> list[tuple[str, str, int, int, int]]:
        """(outcome, family, generations, sum_ms, timed) over the UTC days in [a, b)."""
        q = (select(DAY.c.outcome, DAY.c.family, func.sum(DAY.c.n), func.sum(DAY.c.sum_ms), func.sum(DAY.c.timed))
             .where(DAY.c.day >= a, DAY.c.day < b).group_by(DAY.c.outcome, DAY.c.family))
        with self.db.engine.connect() as conn:
            return [(o, f, int(n), int(s), int(t)) for o, f, n, s, t in conn.execute(q)]

    def _raw_lora_rows(self, edges: list[tuple[datetime, datetime]]):
        """One row per raw LoRA request in the edge intervals, in the per-day table's columns."""
        used = GL.c.status == "applied"
        timed = and_(used, G.c.outcome == "done", G.c.duration_ms.is_not(None))
        one = lambda cond: case((cond, 1), else_=0)  # noqa: E731
        return (select(GL.c.prompt_name, GL.c.lora_id, literal(1).label("requests"), one(used).label("uses"),
                       *[one(G.c.outcome == o).label(o) for o in ("done", "interrupted", "failed")],
                       *[one(GL.c.status == s).label(s) for s in ("not_found", "not_applied")],
                       case((timed, G.c.duration_ms), else_=0).label("sum_ms"), one(timed).label("timed"),
                       G.c.started_at.label("first_used"), G.c.started_at.label("last_used"))
                .select_from(GL.join(G, G.c.id == GL.c.generation_id))
                .where(GL.c.generation_id.in_(self._edge_ids(edges))))

    @staticmethod
    def _edge_ids(edges: list[tuple[datetime, datetime]]):
        """Ids of the generations in the edge intervals: joins start from these (the started_at index),
        never from a scan of every LoRA row."""
        return select(G.c.id).where(or_(*[and_(G.c.started_at >= a, G.c.started_at < b) for a, b in edges]))

    def _lora_union(self, days: tuple | None, edges: list[tuple[datetime, datetime]], names: list[str] | None):
        cols = ["prompt_name", "lora_id", *COUNTERS, "first_used", "last_used"]
        parts = []
        if days is not None:
            conds = [LDAY.c.day >= days[0], LDAY.c.day < days[1]]
            if names is not None:
                conds.append(LDAY.c.prompt_name.in_(names))
            parts.append(select(*[LDAY.c[c] for c in cols]).where(*conds))
        if edges:
            raw = self._raw_lora_rows(edges)
            parts.append(raw.where(GL.c.prompt_name.in_(names)) if names is not None else raw)
        if not parts:
            return None
        return (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("u")

    def ranged_loras(self, days: tuple | None, edges: list[tuple[datetime, datetime]], order: str, descending: bool,
                     limit: int, offset: int = 0, used_only: bool = False, names: list[str] | None = None,
                     with_total: bool = True) -> tuple[int, list[dict[str, Any]]]:
        """Per-LoRA figures over whole UTC days `days` (start, end) plus raw `edges`, sorted and paged in SQL."""
        u = self._lora_union(days, edges, names)
        if u is None:
            return 0, []
        sums = [func.sum(u.c[c]).label(c) for c in COUNTERS]
        grouped = (select(u.c.prompt_name, func.max(u.c.lora_id).label("lora_id"), *sums,
                          func.min(u.c.first_used).label("first_used"), func.max(u.c.last_used).label("last_used"))
                   .group_by(u.c.prompt_name))
        if used_only:
            grouped = grouped.having(func.sum(u.c.uses) > 0)
        g = grouped.subquery("g")
        col = {"uses": g.c.uses, "last_used": g.c.last_used, "name": g.c.prompt_name}[order]
        # the page and the count in one pass
        total_col = [func.count().over().label("total_rows")] if with_total else []
        q = (select(g, *total_col).order_by(col.desc() if descending else col.asc(), g.c.prompt_name)
             .limit(limit).offset(offset))
        with self.db.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
            if with_total and not rows and offset:  # past the end: the count still answers
                total = conn.execute(select(func.count()).select_from(g)).scalar_one()
            else:
                total = rows[0]["total_rows"] if with_total and rows else len(rows)
        return int(total), [
            {
                **{k: v for k, v in r.items() if k != "total_rows"},
                **{k: int(r[k] or 0) for k in COUNTERS},
                "first_used": _utc(r["first_used"]),
                "last_used": _utc(r["last_used"]),
            }
            for r in rows
        ]

    def ranged_top(self, days: tuple | None, edges: list[tuple[datetime, datetime]], top: int) -> dict[str, Any]:
        """Most and least used LoRAs and the failure sums of a range, from one grouping of its
        per-LoRA rows (a CTE read three times: SQLite and PostgreSQL materialise it once);
        only `2 * top + 1` rows come back.
        Returns {"most": [...], "least": [...]} of {prompt_name, lora_id, uses, last_used} and
        {"not_found": n, "not_applied": n}."""
        u = self._lora_union(days, edges, None)
        if u is None:
            return {"most": [], "least": [], "not_found": 0, "not_applied": 0}
        g = (select(u.c.prompt_name, func.max(u.c.lora_id).label("lora_id"), func.sum(u.c.uses).label("uses"),
                    func.max(u.c.last_used).label("last_used"), func.sum(u.c.not_found).label("nf"),
                    func.sum(u.c.not_applied).label("na")).group_by(u.c.prompt_name).cte("g"))

        def ranked(kind: str, order):
            return select(literal(kind).label("k"), g.c.prompt_name, g.c.lora_id, g.c.uses, g.c.last_used) \
                .where(g.c.uses > 0).order_by(order, g.c.prompt_name).limit(top).subquery()

        most, least = ranked("most", g.c.uses.desc()), ranked("least", g.c.uses.asc())
        fails = select(literal("fail").label("k"), literal(None).label("prompt_name"),
                       func.sum(g.c.na).label("lora_id"),
                       func.sum(g.c.nf).label("uses"), literal(None).label("last_used"))
        q = union_all(select(most), select(least), fails)
        out: dict[str, Any] = {"most": [], "least": [], "not_found": 0, "not_applied": 0}
        with self.db.engine.connect() as conn:
            for k, name, lid, uses, last in conn.execute(q):
                if k == "fail":
                    out["not_found"], out["not_applied"] = int(uses or 0), int(lid or 0)
                else:
                    # (PostgreSQL types the unioned column as numeric: ids come back as Decimal)
                    out[k].append({"prompt_name": name, "lora_id": None if lid is None else int(lid), "uses": int(uses),
                                   "last_used": _utc(last)})
        out["most"].sort(key=lambda r: (-r["uses"], r["prompt_name"]))
        out["least"].sort(key=lambda r: (r["uses"], r["prompt_name"]))
        return out

    def ranged_never_used(self, days: tuple | None, edges: list[tuple[datetime, datetime]], top: int) -> dict[str, Any]:
        """LoRAs on disk not applied in the range: {count, bytes, largest: [{id, prompt_name, size}]},
        counted in SQL over the (state, size) index against the ids the range applied."""
        parts = []
        if days is not None:
            parts.append(select(LDAY.c.lora_id).where(LDAY.c.day >= days[0], LDAY.c.day < days[1], LDAY.c.uses > 0,
                                                      LDAY.c.lora_id.is_not(None)))
        if edges:
            parts.append(select(GL.c.lora_id).where(GL.c.generation_id.in_(self._edge_ids(edges)),
                                                    GL.c.status == "applied", GL.c.lora_id.is_not(None)))
        conds = [L.c.state.in_(PRESENT)]
        if parts:
            conds.append(L.c.id.not_in(union_all(*parts) if len(parts) > 1 else parts[0]))
        with self.db.engine.connect() as conn:
            n, size = conn.execute(select(func.count(), func.coalesce(func.sum(L.c.size), 0)).where(*conds)).one()
            largest = conn.execute(select(L.c.id, L.c.prompt_name, L.c.size).where(*conds)
                                   .order_by(L.c.size.desc(), L.c.id).limit(top)).all()
        return {"count": int(n), "bytes": int(size),
                "largest": [{"id": i, "prompt_name": p, "size": s} for i, p, s in largest]}

    def prompt_names(self, ids: list[int]) -> dict[int, str]:
        with self.db.engine.connect() as conn:
            return dict(conn.execute(select(L.c.id, L.c.prompt_name).where(L.c.id.in_(ids))).all()) if ids else {}

    def ranged_pairs(self, days: tuple | None, edges: list[tuple[datetime, datetime]],
                     limit: int) -> list[tuple[tuple, int]]:
        """The most frequent pairs over whole UTC days plus raw edges, ranked in SQL."""
        parts = []
        if days is not None:
            parts.append(select(DPAIR.c.a, DPAIR.c.b, DPAIR.c.n).where(DPAIR.c.day >= days[0], DPAIR.c.day < days[1]))
        if edges:
            x, y = GL.alias("x"), GL.alias("y")
            pairs = (select(x.c.prompt_name.label("a"), y.c.prompt_name.label("b"), x.c.generation_id)
                     .select_from(x.join(y, and_(x.c.generation_id == y.c.generation_id,
                                                 x.c.prompt_name < y.c.prompt_name)))
                     .where(x.c.generation_id.in_(self._edge_ids(edges)), x.c.status == "applied",
                            y.c.status == "applied")
                     .distinct().subquery("p"))  # a LoRA named twice in one prompt is one pair
            parts.append(select(pairs.c.a, pairs.c.b, literal(1).label("n")))
        if not parts:
            return []
        u = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("u")
        q = (select(u.c.a, u.c.b, func.sum(u.c.n).label("n")).group_by(u.c.a, u.c.b)
             .order_by(func.sum(u.c.n).desc(), u.c.a, u.c.b).limit(limit))
        with self.db.engine.connect() as conn:
            return [((a, b), int(n)) for a, b, n in conn.execute(q)]

    def day_counter_sums(self, kind: str, a: datetime, b: datetime, names: list[str] | None = None) -> dict[tuple, int]:
        """Summed counters over the UTC days in [a, b): kind is weights, families, pairs or triggers."""
        table, keys = {"weights": (DWEI, ("prompt_name", "weight")), "families": (DFAM, ("prompt_name", "family")),
                       "pairs": (DPAIR, ("a", "b")), "triggers": (DTRIG, ("word",))}[kind]
        cols = [table.c[k] for k in keys]
        conds = [table.c.day >= a, table.c.day < b]
        if names is not None:
            conds.append(table.c.prompt_name.in_(names))
        q = select(*cols, func.sum(table.c.n)).where(*conds).group_by(*cols)
        with self.db.engine.connect() as conn:
            return {tuple(r[:-1]): int(r[-1]) for r in conn.execute(q)}

    def raw_rows(self, a: datetime, b: datetime) -> tuple[list[dict], list[dict], dict[int, list[str]]]:
        """The raw events in [a, b) with their LoRA rows and trigger words, for the fold."""
        cols = [G.c.id, G.c.started_at, G.c.outcome, G.c.duration_ms, G.c.checkpoint_family, G.c.prompt]
        with self.db.engine.connect() as conn:
            gens = [
                dict(r._mapping) for r in conn.execute(select(*cols).where(G.c.started_at >= a, G.c.started_at < b))
            ]
            for g in gens:
                g["started_at"] = _utc(g["started_at"])
            loras = []
            ids = [g["id"] for g in gens]
            for i in range(0, len(ids), 500):
                loras += [dict(r._mapping) for r in conn.execute(
                    select(GL.c.generation_id, GL.c.prompt_name, GL.c.lora_id, GL.c.status, GL.c.applied_unet,
                           GL.c.requested_weight).where(GL.c.generation_id.in_(ids[i:i + 500])))]
            words = rollups.trigger_words(conn, {r["lora_id"] for r in loras if r["status"] == "applied"})
        return gens, loras, words

    def top_triggers(self, limit: int) -> list[tuple[str, int]]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(TRIG.c.word, TRIG.c.n).order_by(TRIG.c.n.desc(), TRIG.c.word).limit(limit))
            return [(w, int(n)) for w, n in rows]

    def never_used_count(self) -> tuple[int, int]:
        """(LoRAs on disk never used, their bytes): one pass over the (state, size) index, each probed
        in the totals' (lora_id, uses) index; no row of either table is read."""
        used = select(TOT.c.lora_id).where(TOT.c.lora_id == L.c.id, TOT.c.uses > 0).exists()
        q = select(func.count(), func.coalesce(func.sum(L.c.size), 0)).where(L.c.state.in_(PRESENT), ~used)
        with self.db.engine.connect() as conn:
            n, size = conn.execute(q).one()
        return int(n), int(size)

    def compact_usage(self, before: datetime) -> int:
        """Delete raw events that started before `before` (a UTC midnight); the rollups keep every figure.
        Returns how many generations were deleted."""
        if before != floor_to(before, 86400):
            raise ValueError("compaction stops at a UTC midnight")
        with self.db.engine.begin() as conn:
            current = _utc(conn.execute(select(RET.c.raw_since).where(RET.c.id == 1)).scalar())
            # late events (a host's clock, an import) can land before the mark: they go too
            ids = select(G.c.id).where(G.c.started_at < before).scalar_subquery()
            conn.execute(GL.delete().where(GL.c.generation_id.in_(ids)))
            n = conn.execute(G.delete().where(G.c.started_at < before)).rowcount
            if current is None:
                conn.execute(RET.insert().values(id=1, raw_since=before))
            elif current < before:
                conn.execute(RET.update().where(RET.c.id == 1).values(raw_since=before))
        return int(n or 0)
