"""Generation jobs run through the host's pipeline."""

from __future__ import annotations

from fastapi.responses import FileResponse
from starlette.responses import Response

from ...jobs.queue import JobQueue, validate_request
from ...library.previews import preview_mime
from .. import schemas as S
from ..responses import JSON
from . import INDEX, JOB_ID


def create_job(jobs: JobQueue, req: S.JobCreate) -> Response:
    job = jobs.submit(validate_request(req.model_dump()))
    return JSON({"id": job.id, "status": job.status}, status_code=202)


def list_jobs(jobs: JobQueue) -> Response:
    return JSON(jobs.list())


def get_job(jobs: JobQueue, job_id: str = JOB_ID) -> Response:
    return JSON(jobs.get(job_id).as_dict())


def cancel_job(jobs: JobQueue, job_id: str = JOB_ID) -> Response:
    return JSON(jobs.cancel(job_id).as_dict())


def job_image(jobs: JobQueue, outputs: str, job_id: str = JOB_ID, index: int = INDEX) -> Response:
    path = jobs.image_path(job_id, index, outputs)
    return FileResponse(path, media_type=preview_mime(path), headers={"Cache-Control": "private, max-age=86400"})
