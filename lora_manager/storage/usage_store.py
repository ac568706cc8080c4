"""Recorded generations: written by the recorder, read by the usage API and analytics."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from ..errors import InvalidInput
from ..library.clock import iso
from ..usage.prompts import is_skipped
from . import rollups
from .base import L, SqlStoreBase, chunks
from .models import Generation, GenerationLora
from .scan_store import PRESENT

G = Generation.__table__
GL = GenerationLora.__table__
GEN_COLUMNS = [c.name for c in G.c if c.name != "id"]
MAX_USAGE_LIMIT = 1000


def _status(ref: dict[str, Any], applied: dict[str, dict[str, Any]], known: dict[str, int]) -> str:
    if ref["name"] in applied:
        return "applied"
    if is_skipped(ref.get("te"), ref.get("unet")):
        return "skipped"
    return "not_found" if ref["name"] not in known else "not_applied"


class UsageStore(SqlStoreBase):
    def record_generations(self, events: list[dict[str, Any]]) -> list[int]:
        """Store generation events (see recorder.GenerationEvent.as_row); returns their ids."""
        names = {r["name"] for e in events for r in e.get("requested", [])} | {a["name"] for e in events for a in e.get("applied", [])}
        ids: list[int] = []
        gen_rows: list[dict[str, Any]] = []
        lora_rows: list[dict[str, Any]] = []
        with self.engine.begin() as conn:
            known = self._ids_by_prompt_name(conn, names)
            for event in events:
                values = {k: event.get(k) for k in GEN_COLUMNS}
                gid = conn.execute(G.insert().values(**values)).inserted_primary_key[0]
                ids.append(gid)
                gen_rows.append({"id": gid, **values})
                applied = {a["name"]: a for a in event.get("applied", [])}
                rows = []
                for pos, ref in enumerate(event.get("requested", [])):
                    hit = applied.get(ref["name"])
                    rows.append({
                        "generation_id": gid, "position": pos, "prompt_name": ref["name"][:500], "lora_id": known.get(ref["name"]),
                        "requested_weight": ref.get("weight"), "requested_te": ref.get("te"), "requested_unet": ref.get("unet"),
                        "schedule": ref.get("schedule"), "applied": hit is not None,
                        "applied_te": hit.get("te") if hit else None, "applied_unet": hit.get("unet") if hit else None,
                        "status": _status(ref, applied, known),
                    })
                requested = {r["name"] for r in event.get("requested", [])}
                for extra in (a for a in event.get("applied", []) if a["name"] not in requested):
                    # Applied without being in the prompt (a style, an extension): still used.
                    rows.append({
                        "generation_id": gid, "position": len(rows), "prompt_name": extra["name"][:500],
                        "lora_id": known.get(extra["name"]), "requested_weight": None, "requested_te": None,
                        "requested_unet": None, "schedule": None, "applied": True, "applied_te": extra.get("te"),
                        "applied_unet": extra.get("unet"), "status": "applied",
                    })
                if rows:
                    conn.execute(GL.insert(), rows)
                    lora_rows.extend(rows)
            # The dashboard's rollups move in the same transaction as the events.
            words = rollups.trigger_words(conn, {r["lora_id"] for r in lora_rows if r["status"] == "applied"})
            rollups.apply(conn, self.dialect, rollups.aggregate(gen_rows, lora_rows, words))
        return ids

    def _ids_by_prompt_name(self, conn, names: set[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for part in chunks(sorted(names)):
            q = select(L.c.prompt_name, L.c.id).where(L.c.prompt_name.in_(part)).order_by(L.c.state.in_(PRESENT).desc(), L.c.id)
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
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(G).where(*conds)).scalar_one()
            gens = conn.execute(select(G).where(*conds).order_by(G.c.started_at.desc(), G.c.id.desc()).limit(limit).offset(offset)).mappings().all()
            loras: dict[int, list[dict[str, Any]]] = {}
            ids = [g["id"] for g in gens]
            if ids:
                for row in conn.execute(select(GL).where(GL.c.generation_id.in_(ids)).order_by(GL.c.generation_id, GL.c.position)).mappings():
                    item = {k: row[k] for k in ("prompt_name", "lora_id", "requested_weight", "requested_te", "requested_unet",
                                                "schedule", "applied", "applied_te", "applied_unet", "status")}
                    loras.setdefault(row["generation_id"], []).append(item)
        items = []
        for g in gens:
            item = {k: iso(v) for k, v in g.items()}
            item["loras"] = loras.get(g["id"], [])
            items.append(item)
        return {"total": int(total), "limit": limit, "offset": offset, "items": items}
