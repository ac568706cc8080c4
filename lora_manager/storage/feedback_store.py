"""What the recommender reads and writes: feedback on suggestions, per user and
LoRA, and the usage rollups (uses per LoRA, pairs used together)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any
from collections.abc import Iterable

from sqlalchemy import or_, select

from ..errors import InvalidInput, NotFound
from .base import chunks, utcnow
from .db import Db
from .models import RecommendFeedback
from .rollups import PAIR, TOT

F = RecommendFeedback.__table__
ACTIONS = {"accept": "accepts", "dismiss": "dismisses", "down": "downs"}
MAX_USER = 200


class FeedbackStore(ABC):
    @abstractmethod
    def record_feedback(self, user: str, lora_id: int, action: str) -> dict[str, Any]:
        """Count one accept / dismiss / down of a suggested LoRA by `user`; returns
        {user, lora_id, accepts, dismisses, downs}. InvalidInput for an unknown action or a long
        user name, NotFound for an unknown LoRA."""

    @abstractmethod
    def feedback_counts(self, user: str) -> dict[int, tuple[int, int, int]]:
        """lora_id -> (accepts, dismisses, downs) for one user."""

    @abstractmethod
    def pair_counts(self, names: Iterable[str]) -> dict[str, dict[str, int]]:
        """For each of `names` (prompt names): the LoRAs applied with it and how often, all time."""

    @abstractmethod
    def use_counts(self) -> dict[str, int]:
        """prompt name -> times applied, all time."""


class SqlFeedbackStore(FeedbackStore):
    def __init__(self, db: Db):
        self.db = db

    def record_feedback(self, user: str, lora_id: int, action: str) -> dict[str, Any]:
        """Count one accept / dismiss / down of a suggested LoRA; returns the new counters."""
        column = ACTIONS.get(action)
        if column is None:
            raise InvalidInput(f"unknown feedback {action!r}", {"allowed": sorted(ACTIONS)})
        if len(user) > MAX_USER:
            raise InvalidInput(f"a user name has at most {MAX_USER} characters")
        if self.db.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        row = {"user": user, "lora_id": lora_id, "accepts": 0, "dismisses": 0, "downs": 0, "updated_at": utcnow()}
        row[column] = 1
        stmt = insert(F)
        stmt = stmt.on_conflict_do_update(index_elements=["user", "lora_id"],
                                          set_={column: F.c[column] + 1, "updated_at": stmt.excluded.updated_at})
        with self.db.engine.begin() as conn:
            if not self.db.existing_ids(conn, [lora_id]):
                raise NotFound(f"no LoRA with id {lora_id}")
            conn.execute(stmt, [row])
            got = conn.execute(select(F.c.accepts, F.c.dismisses, F.c.downs)
                               .where(F.c.user == user, F.c.lora_id == lora_id)).one()
        return {"user": user, "lora_id": lora_id, "accepts": got[0], "dismisses": got[1], "downs": got[2]}

    def feedback_counts(self, user: str) -> dict[int, tuple[int, int, int]]:
        """lora_id -> (accepts, dismisses, downs) for one user."""
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(F.c.lora_id, F.c.accepts, F.c.dismisses, F.c.downs).where(F.c.user == user))
            return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def pair_counts(self, names: Iterable[str]) -> dict[str, dict[str, int]]:
        """For each of `names` (prompt names): the LoRAs used with it and how often."""
        names = sorted({n[:500] for n in names})
        out: dict[str, dict[str, int]] = {}
        with self.db.engine.connect() as conn:
            for part in chunks(names, 200):
                q = select(PAIR.c.a, PAIR.c.b, PAIR.c.n).where(or_(PAIR.c.a.in_(part), PAIR.c.b.in_(part)))
                for a, b, n in conn.execute(q):
                    if a in part:
                        out.setdefault(a, {})[b] = n
                    if b in part:
                        out.setdefault(b, {})[a] = n
        return out

    def use_counts(self) -> dict[str, int]:
        """prompt name -> times applied, all time (from the rollup: one row per LoRA)."""
        with self.db.engine.connect() as conn:
            return {
                name: uses for name, uses in conn.execute(select(TOT.c.prompt_name, TOT.c.uses).where(TOT.c.uses > 0))
            }
