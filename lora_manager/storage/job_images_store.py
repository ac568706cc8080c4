"""The images of jobs shared by several hosts, in the database every host reads (jobs/shared.py).

A job of the shared queue runs on one host; its images must be served by all of them. They are kept
here (migration 0017) until the cleanup drops them with their job's age.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select

from .db import Db
from .job_images_models import JobImage

MAX_IMAGE_BYTES = 64 << 20


T = JobImage.__table__


class JobImagesStore:
    def __init__(self, db: Db):
        self.db = db

    def put(self, job_id: str, idx: int, mime: str, data: bytes) -> None:
        if len(data) > MAX_IMAGE_BYTES:
            raise ValueError(f"a job image over {MAX_IMAGE_BYTES} bytes is not kept")
        with self.db.engine.begin() as conn:
            conn.execute(delete(T).where(T.c.job_id == job_id, T.c.idx == idx))
            conn.execute(T.insert().values(job_id=job_id, idx=idx, mime=mime, data=data,
                                           created_at=datetime.now(timezone.utc)))

    def get(self, job_id: str, idx: int) -> tuple[str, bytes] | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(select(T.c.mime, T.c.data).where(T.c.job_id == job_id, T.c.idx == idx)).first()
        return (row.mime, bytes(row.data)) if row else None

    def drop_older(self, days: float) -> int:
        cutoff = datetime.now(timezone.utc) - timedelta(days=days)
        with self.db.engine.begin() as conn:
            return conn.execute(delete(T).where(T.c.created_at < cutoff)).rowcount
