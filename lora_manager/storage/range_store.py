"""Ranged reads over the rollups: whole units by key, whole UTC days summed, raw edges folded.

Analytics asks for exactly the units it needs (see `timeparts.cover`); a range
adds up whole UTC days from the per-day tables and folds the raw events of the
partial days at its ends with the same code the recorder uses.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from . import rollups
from .base import L, SqlStoreBase
from .models import UsageRetention
from .rollups import COUNTERS, DAY, DFAM, DPAIR, DTRIG, DWEI, LDAY, LEVELS, SLOT, TOT, TRIG
from .scan_store import PRESENT
from .usage_store import G, GL

RET = UsageRetention.__table__


def _utc(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value[:26])
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


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


class RangeStore(SqlStoreBase):
    def usage_extent(self) -> tuple[datetime | None, datetime | None, datetime | None]:
        """(first quarter hour, last quarter hour, raw_since): the span any figure can cover."""
        with self.engine.connect() as conn:
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
        with self.engine.connect() as conn:
            for cond in queries:
                q = select(c, table.c.outcome, func.sum(table.c.n)).where(cond).group_by(c, table.c.outcome)
                for unit, outcome, n in conn.execute(q):
                    out.setdefault(_utc(unit), {})[outcome] = int(n)
        return out

    def day_generation_sums(self, a: datetime, b: datetime) -> list[tuple[str, str, int, int, int]]:
        """(outcome, family, generations, sum_ms, timed) over the UTC days in [a, b)."""
        q = (select(DAY.c.outcome, DAY.c.family, func.sum(DAY.c.n), func.sum(DAY.c.sum_ms), func.sum(DAY.c.timed))
             .where(DAY.c.day >= a, DAY.c.day < b).group_by(DAY.c.outcome, DAY.c.family))
        with self.engine.connect() as conn:
            return [(o, f, int(n), int(s), int(t)) for o, f, n, s, t in conn.execute(q)]

    def lora_day_totals(self, a: datetime, b: datetime) -> dict[str, dict[str, Any]]:
        """Per prompt name over the UTC days in [a, b): the totals' counters, first and last use."""
        q = (select(LDAY.c.prompt_name, func.max(LDAY.c.lora_id), *[func.sum(LDAY.c[k]) for k in COUNTERS],
                    func.min(LDAY.c.first_used), func.max(LDAY.c.last_used))
             .where(LDAY.c.day >= a, LDAY.c.day < b).group_by(LDAY.c.prompt_name))
        out = {}
        with self.engine.connect() as conn:
            for row in conn.execute(q):
                name, lid, *nums = row
                first, last = nums[-2:]
                out[name] = {"lora_id": lid, **{k: int(v) for k, v in zip(COUNTERS, nums)},
                             "first_used": _utc(first), "last_used": _utc(last)}
        return out

    def day_counter_sums(self, kind: str, a: datetime, b: datetime, names: list[str] | None = None) -> dict[tuple, int]:
        """Summed counters over the UTC days in [a, b): kind is weights, families, pairs or triggers."""
        table, keys = {"weights": (DWEI, ("prompt_name", "weight")), "families": (DFAM, ("prompt_name", "family")),
                       "pairs": (DPAIR, ("a", "b")), "triggers": (DTRIG, ("word",))}[kind]
        cols = [table.c[k] for k in keys]
        conds = [table.c.day >= a, table.c.day < b]
        if names is not None:
            conds.append(table.c.prompt_name.in_(names))
        q = select(*cols, func.sum(table.c.n)).where(*conds).group_by(*cols)
        with self.engine.connect() as conn:
            return {tuple(r[:-1]): int(r[-1]) for r in conn.execute(q)}

    def raw_rollup(self, a: datetime, b: datetime) -> dict[str, dict]:
        """The raw events in [a, b) folded as the recorder folds them (rollup deltas)."""
        cols = [G.c.id, G.c.started_at, G.c.outcome, G.c.duration_ms, G.c.checkpoint_family, G.c.prompt]
        with self.engine.connect() as conn:
            gens = [dict(r._mapping) for r in conn.execute(select(*cols).where(G.c.started_at >= a, G.c.started_at < b))]
            for g in gens:
                g["started_at"] = _utc(g["started_at"])
            loras = []
            ids = [g["id"] for g in gens]
            for i in range(0, len(ids), 500):
                loras += [dict(r._mapping) for r in conn.execute(
                    select(GL.c.generation_id, GL.c.prompt_name, GL.c.lora_id, GL.c.status, GL.c.applied_unet,
                           GL.c.requested_weight).where(GL.c.generation_id.in_(ids[i:i + 500])))]
            words = rollups.trigger_words(conn, {r["lora_id"] for r in loras if r["status"] == "applied"})
        return rollups.aggregate(gens, loras, words)

    def top_triggers(self, limit: int) -> list[tuple[str, int]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(TRIG.c.word, TRIG.c.n).order_by(TRIG.c.n.desc(), TRIG.c.word).limit(limit))
            return [(w, int(n)) for w, n in rows]

    def never_used_count(self) -> tuple[int, int]:
        """(LoRAs on disk never used, their bytes): all present minus present with uses, two indexed counts."""
        present = L.c.state.in_(PRESENT)
        used = (select(func.count(), func.coalesce(func.sum(L.c.size), 0))
                .select_from(TOT.join(L, L.c.id == TOT.c.lora_id)).where(TOT.c.uses > 0, present))
        with self.engine.connect() as conn:
            n, size = conn.execute(select(func.count(), func.coalesce(func.sum(L.c.size), 0)).where(present)).one()
            un, usize = conn.execute(used).one()
        return int(n) - int(un), int(size) - int(usize)

    def never_used_between(self, a: datetime | None, b: datetime | None, used_ids: set[int], limit: int) -> dict[str, Any]:
        """LoRAs on disk with no use in the whole UTC days [a, b) nor among `used_ids` (the raw edges)."""
        present = L.c.state.in_(PRESENT)
        conds = [present]
        if a is not None and a < b:
            conds.append(~select(LDAY.c.lora_id).where(LDAY.c.lora_id == L.c.id, LDAY.c.day >= a, LDAY.c.day < b,
                                                       LDAY.c.uses > 0).exists())
        with self.engine.connect() as conn:
            n, size = conn.execute(select(func.count(), func.coalesce(func.sum(L.c.size), 0)).where(*conds)).one()
            n, size = int(n), int(size)
            if used_ids:
                ids = sorted(used_ids)
                for i in range(0, len(ids), 500):
                    dn, ds = conn.execute(select(func.count(), func.coalesce(func.sum(L.c.size), 0))
                                          .where(*conds, L.c.id.in_(ids[i:i + 500]))).one()
                    n, size = n - int(dn), size - int(ds)
            largest = []
            q = select(L.c.id, L.c.prompt_name, L.c.size).where(*conds).order_by(L.c.size.desc(), L.c.id)
            for lid, name, s in conn.execute(q.limit(limit + len(used_ids))):
                if lid not in used_ids and len(largest) < limit:
                    largest.append({"id": lid, "prompt_name": name, "size": s})
        return {"count": n, "bytes": size, "largest": largest}

    def compact_usage(self, before: datetime) -> int:
        """Delete raw events that started before `before` (a UTC midnight); the rollups keep every figure.
        Returns how many generations were deleted."""
        if before != rollups.floor_to(before, 86400):
            raise ValueError("compaction stops at a UTC midnight")
        with self.engine.begin() as conn:
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


