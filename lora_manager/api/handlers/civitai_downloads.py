"""Routes of Civitai update checks and downloads (docs/civitai.md, docs/api.md)."""

from __future__ import annotations

from typing import Optional

from fastapi import Body, Path, Query
from starlette.responses import Response

from ..responses import JSON
from ..schemas import TEXT
from . import civitai_downloads_schemas as S

JOB_ID = Path(..., min_length=1, max_length=64, pattern="^[0-9a-z_-]+$", description="the download's id")


def civitai_download_routes(core, route) -> list:
    """Route entries over core.civitai_updates and core.civitai_downloads; `route` is routes.Route."""

    def updates(every: bool = Query(False, alias="all",
                                    description="every LoRA naming a Civitai model, not only those with an update"),
                lora: Optional[str] = Query(None, max_length=300, pattern=TEXT,
                                            description="one LoRA (id, prompt name, file name or hash)")) -> Response:
        checker = core.civitai_updates
        return JSON({"status": checker.status(), "items": checker.items(only_newer=not every, lora=lora)})

    def check() -> Response:
        return JSON(core.civitai_updates.start_check(), status_code=202)

    def start(req: S.DownloadRequest = Body(...)) -> Response:
        update = req.update
        job = core.civitai_downloads.submit(req.ref, folder=req.folder, update_of=update.of if update else None,
                                            replace=bool(update and update.replace),
                                            carry_user_data=bool(update and update.carry_user_data))
        return JSON(job, status_code=202)

    def listing() -> Response:
        downloads = core.civitai_downloads
        return JSON({"items": downloads.list(), "workers": downloads.workers})

    def pause(job_id: str = JOB_ID) -> Response:
        return JSON(core.civitai_downloads.pause(job_id))

    def resume(job_id: str = JOB_ID) -> Response:
        return JSON(core.civitai_downloads.resume(job_id))

    def cancel(job_id: str = JOB_ID) -> Response:
        return JSON(core.civitai_downloads.cancel(job_id))

    return [
        route("/civitai/updates", "GET", updates, "LoRAs with a newer version on Civitai, with every version",
              S.UpdatesPage),
        route("/civitai/updates/check", "POST", check, "check Civitai for newer versions now, in the background",
              S.UpdateStatus, status_code=202),
        route("/civitai/downloads", "POST", start, "download a LoRA from Civitai (a URL, version id or AIR)",
              S.DownloadJob, status_code=202),
        route("/civitai/downloads", "GET", listing, "the download queue with progress, newest first", S.DownloadList),
        route("/civitai/downloads/{job_id}/pause", "POST", pause, "pause a download (its partial file stays)",
              S.DownloadJob),
        route("/civitai/downloads/{job_id}/resume", "POST", resume, "resume a paused or failed download (with Range)",
              S.DownloadJob),
        route("/civitai/downloads/{job_id}", "DELETE", cancel,
              "cancel a download (its partial file is deleted), or forget a finished one", S.DownloadJob),
    ]
