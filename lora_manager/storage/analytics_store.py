"""Aggregations over recorded generations (all figures come from our own events)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Numeric, Text, and_, case, cast, func, literal_column, select, type_coerce

from .base import L, SqlStoreBase
from .rollups import FAM, PAIR, SLOT, TOT, WEI
from .scan_store import PRESENT
from .usage_store import G, GL

USED = GL.c.status == "applied"


def _aligned(moment: datetime | None) -> bool:
    return moment is None or (moment.minute % 15 == 0 and moment.second == 0 and moment.microsecond == 0)


class AnalyticsStore(SqlStoreBase):
    """Reads the rollups where they answer exactly (all time; quarter-hour-aligned ranges
    for the timeline), the raw events otherwise."""

    def _range(self, since: datetime | None, until: datetime | None) -> list:
        conds = []
        if since is not None:
            conds.append(G.c.started_at >= since)
        if until is not None:
            conds.append(G.c.started_at < until)
        return conds

    def quarter_hour_counts(self, since=None, until=None) -> list[tuple[datetime, str, int]]:
        """(UTC quarter hour, outcome, generations): small enough to re-bucket in any time zone."""
        if _aligned(since) and _aligned(until):
            conds = ([SLOT.c.slot >= since] if since else []) + ([SLOT.c.slot < until] if until else [])
            # SQLite hands back text: parsing it here is cheaper than the type's regex
            slot = type_coerce(SLOT.c.slot, Text) if self.dialect == "sqlite" else SLOT.c.slot
            q = select(slot, SLOT.c.outcome, func.sum(SLOT.c.n)).where(*conds).group_by(SLOT.c.slot, SLOT.c.outcome)
            with self.engine.connect() as conn:
                return [(_utc(s), o, int(n)) for s, o, n in conn.execute(q)]
        if self.dialect == "postgresql":
            slot = literal_column("date_trunc('hour', generations.started_at AT TIME ZONE 'UTC') + "
                                  "floor(extract(minute from generations.started_at AT TIME ZONE 'UTC') / 15) * interval '15 minutes'")
        else:  # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS...'
            slot = literal_column("substr(generations.started_at, 1, 14) || "
                                  "printf('%02d', (CAST(substr(generations.started_at, 15, 2) AS INTEGER) / 15) * 15)")
        q = select(slot.label("slot"), G.c.outcome, func.count()).where(*self._range(since, until)).group_by(slot, G.c.outcome)
        out = []
        with self.engine.connect() as conn:
            for value, outcome, n in conn.execute(q):
                if isinstance(value, str):
                    value = datetime.strptime(value, "%Y-%m-%d %H:%M")
                out.append((value.replace(tzinfo=timezone.utc), outcome, int(n)))
        return out

    def lora_usage(self, since=None, until=None) -> list[dict[str, Any]]:
        """Per LoRA (by id where indexed, else prompt name): uses, first/last use, outcomes, mean time."""
        if since is None and until is None:
            with self.engine.connect() as conn:
                rows = conn.execute(select(TOT)).mappings().all()
            return [{**dict(r), "first_used": _utc(r["first_used"]), "last_used": _utc(r["last_used"]),
                     "mean_ms": (r["sum_ms"] / r["timed"]) if r["timed"] else None} for r in rows]
        key_id, key_name = GL.c.lora_id, GL.c.prompt_name
        q = (
            select(
                key_id, key_name,
                func.count().label("requests"),
                func.sum(case((USED, 1), else_=0)).label("uses"),
                func.min(G.c.started_at).label("first_used"),
                func.max(G.c.started_at).label("last_used"),
                func.sum(case((G.c.outcome == "done", 1), else_=0)).label("done"),
                func.sum(case((G.c.outcome == "interrupted", 1), else_=0)).label("interrupted"),
                func.sum(case((G.c.outcome == "failed", 1), else_=0)).label("failed"),
                func.sum(case((GL.c.status == "not_found", 1), else_=0)).label("not_found"),
                func.avg(case((and_(USED, G.c.outcome == "done"), G.c.duration_ms), else_=None)).label("mean_ms"),
                func.sum(case((and_(USED, G.c.outcome == "done", G.c.duration_ms.is_not(None)), 1), else_=0)).label("timed"),
            )
            .select_from(GL.join(G, G.c.id == GL.c.generation_id))
            .where(*self._range(since, until))
            .group_by(key_id, key_name)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def weights_and_families(self, since=None, until=None) -> tuple[list, list]:
        """(lora_id, prompt_name, weight, count) and (lora_id, prompt_name, family, count) for used LoRAs."""
        if since is None and until is None:
            with self.engine.connect() as conn:
                weights = [(None, p, float(w), n) for p, w, n in conn.execute(select(WEI.c.prompt_name, WEI.c.weight, WEI.c.n))]
                families = [(None, p, f, n) for p, f, n in conn.execute(select(FAM.c.prompt_name, FAM.c.family, FAM.c.n))]
            return weights, families
        join = GL.join(G, G.c.id == GL.c.generation_id)
        raw = func.coalesce(GL.c.applied_unet, GL.c.requested_weight)
        # PostgreSQL rounds only numeric to a number of places
        weight = func.round(cast(raw, Numeric) if self.dialect == "postgresql" else raw, 1)
        w = (select(GL.c.lora_id, GL.c.prompt_name, weight.label("w"), func.count()).select_from(join)
             .where(USED, *self._range(since, until)).group_by(GL.c.lora_id, GL.c.prompt_name, weight))
        f = (select(GL.c.lora_id, GL.c.prompt_name, G.c.checkpoint_family, func.count()).select_from(join)
             .where(USED, *self._range(since, until)).group_by(GL.c.lora_id, GL.c.prompt_name, G.c.checkpoint_family))
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(w)], [tuple(r) for r in conn.execute(f)]

    def generation_totals(self, since=None, until=None) -> dict[str, Any]:
        if since is None and until is None:
            with self.engine.connect() as conn:
                total, done_ms, timed = conn.execute(select(
                    func.coalesce(func.sum(SLOT.c.n), 0),
                    func.coalesce(func.sum(case((SLOT.c.outcome == "done", SLOT.c.sum_ms), else_=0)), 0),
                    func.coalesce(func.sum(case((SLOT.c.outcome == "done", SLOT.c.timed), else_=0)), 0))).one()
                families = conn.execute(select(SLOT.c.family, func.sum(SLOT.c.n)).group_by(SLOT.c.family)
                                        .order_by(func.sum(SLOT.c.n).desc())).all()
                nf, na = conn.execute(select(func.coalesce(func.sum(TOT.c.not_found), 0),
                                             func.coalesce(func.sum(TOT.c.not_applied), 0))).one()
            failures = {k: int(v) for k, v in (("not_found", nf), ("not_applied", na)) if v}
            return {"generations": int(total), "mean_done_ms": (float(done_ms) / timed) if timed else None, "timed": int(timed),
                    "families": [{"family": f or None, "generations": int(n)} for f, n in families],
                    "lora_failures": failures}
        with self.engine.connect() as conn:
            total, mean, timed = conn.execute(
                select(func.count(), func.avg(case((G.c.outcome == "done", G.c.duration_ms), else_=None)),
                       func.sum(case((and_(G.c.outcome == "done", G.c.duration_ms.is_not(None)), 1), else_=0)))
                .where(*self._range(since, until))).one()
            families = conn.execute(select(G.c.checkpoint_family, func.count()).where(*self._range(since, until))
                                    .group_by(G.c.checkpoint_family).order_by(func.count().desc())).all()
            failures = conn.execute(
                select(GL.c.status, func.count()).select_from(GL.join(G, G.c.id == GL.c.generation_id))
                .where(GL.c.status.in_(("not_found", "not_applied")), *self._range(since, until)).group_by(GL.c.status)).all()
        return {"generations": int(total), "mean_done_ms": float(mean) if mean is not None else None, "timed": int(timed or 0),
                "families": [{"family": f, "generations": int(n)} for f, n in families],
                "lora_failures": {s: int(n) for s, n in failures}}

    def co_usage(self, since=None, until=None, limit: int = 20) -> list[dict[str, Any]]:
        if since is None and until is None:
            with self.engine.connect() as conn:
                rows = conn.execute(select(PAIR.c.a, PAIR.c.b, PAIR.c.n).order_by(PAIR.c.n.desc(), PAIR.c.a, PAIR.c.b).limit(limit))
                return [{"a": a, "b": b, "generations": int(n)} for a, b, n in rows]
        a, b = GL.alias("a"), GL.alias("b")
        q = (
            select(a.c.prompt_name.label("a"), b.c.prompt_name.label("b"), func.count().label("n"))
            .select_from(a.join(b, and_(a.c.generation_id == b.c.generation_id, a.c.prompt_name < b.c.prompt_name))
                         .join(G, G.c.id == a.c.generation_id))
            .where(a.c.status == "applied", b.c.status == "applied", *self._range(since, until))
            .group_by(a.c.prompt_name, b.c.prompt_name).order_by(func.count().desc(), a.c.prompt_name).limit(limit)
        )
        with self.engine.connect() as conn:
            return [{"a": x, "b": y, "generations": int(n)} for x, y, n in conn.execute(q)]

    # --- all-time answers straight from the rollups, paged in SQL ----------------
    def rollup_loras(self, order: str, descending: bool, limit: int, offset: int, used_only: bool = False):
        col = {"uses": TOT.c.uses, "last_used": TOT.c.last_used, "name": TOT.c.prompt_name}[order]
        conds = [TOT.c.uses > 0] if used_only else []
        q = (select(TOT).where(*conds).order_by(col.desc() if descending else col.asc(), TOT.c.prompt_name)
             .limit(limit).offset(offset))
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(TOT).where(*conds)).scalar_one()
            rows = conn.execute(q).mappings().all()
        items = [{**dict(r), "first_used": _utc(r["first_used"]), "last_used": _utc(r["last_used"]),
                  "mean_ms": (r["sum_ms"] / r["timed"]) if r["timed"] else None} for r in rows]
        return int(total), items

    def rollup_weights_families(self, names: list[str]) -> tuple[list, list]:
        with self.engine.connect() as conn:
            weights = [(None, p, float(w), n) for p, w, n in
                       conn.execute(select(WEI.c.prompt_name, WEI.c.weight, WEI.c.n).where(WEI.c.prompt_name.in_(names)))]
            families = [(None, p, f, n) for p, f, n in
                        conn.execute(select(FAM.c.prompt_name, FAM.c.family, FAM.c.n).where(FAM.c.prompt_name.in_(names)))]
        return weights, families

    def never_used_rollup(self, limit: int = 50) -> dict[str, Any]:
        # an anti-join on the indexed lora_id: NOT IN (subquery) scanned the totals per row
        joined = L.outerjoin(TOT, and_(TOT.c.lora_id == L.c.id, TOT.c.uses > 0))
        conds = [L.c.state.in_(PRESENT), TOT.c.prompt_name.is_(None)]
        with self.engine.connect() as conn:
            n, size = conn.execute(select(func.count(), func.coalesce(func.sum(L.c.size), 0)).select_from(joined).where(*conds)).one()
            rows = conn.execute(select(L.c.id, L.c.prompt_name, L.c.size).select_from(joined).where(*conds)
                                .order_by(L.c.size.desc(), L.c.id).limit(limit)).all()
        return {"count": int(n), "bytes": int(size), "largest": [{"id": i, "prompt_name": p, "size": s} for i, p, s in rows]}

    def never_used(self, used_ids: set[int], limit: int = 50) -> dict[str, Any]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(L.c.id, L.c.prompt_name, L.c.size).where(L.c.state.in_(PRESENT))).all()
        unused = [(lid, name, size) for lid, name, size in rows if lid not in used_ids]
        unused.sort(key=lambda r: -r[2])
        return {"count": len(unused), "bytes": sum(r[2] for r in unused),
                "largest": [{"id": i, "prompt_name": n, "size": s} for i, n, s in unused[:limit]]}

    def raw_events(self, since=None, until=None, batch: int = 5000):
        """Generation rows joined with their LoRA rows, oldest first, streamed."""
        q = (select(G.c.id, G.c.started_at, G.c.finished_at, G.c.duration_ms, G.c.outcome, G.c.source, G.c.checkpoint,
                    G.c.checkpoint_family, G.c.seed, G.c.steps, G.c.width, G.c.height, G.c.sampler, GL.c.prompt_name,
                    GL.c.lora_id, GL.c.requested_weight, GL.c.applied_te, GL.c.applied_unet, GL.c.status)
             .select_from(G.outerjoin(GL, GL.c.generation_id == G.c.id)).where(*self._range(since, until))
             .order_by(G.c.started_at, G.c.id, GL.c.position))
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(q)
            for row in result:
                yield row


def _utc(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value[:26])
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
