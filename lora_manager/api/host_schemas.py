"""Schemas of GET /hosts (the hosts of a library several share)."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, Field


class SharedQueue(BaseModel):
    on: bool = Field(description="jobs go to a queue several hosts share through Redis (LORA_MANAGER_REDIS)")
    redis: Optional[str] = Field(None, description="starting, connected or unreachable (null when off); "
                                                   "unreachable: new jobs go to this host's own queue")
    error: Optional[str] = Field(None, description="why Redis is unreachable")
    since: Optional[float] = Field(None, description="when Redis became what `redis` says (Unix seconds)")
    local_fallback: int = Field(0, description="jobs this host queued on its own queue since it started "
                                               "because Redis was unreachable")


class HostOut(BaseModel):
    host_id: str = Field(description="LORA_MANAGER_HOST_ID, or the machine's name and an id kept in its data dir")
    name: str = Field(description="the machine's name")
    kind: str = Field(description="sdnext or standalone")
    roots: list[str] = Field(description="its library roots, as paths on that host")
    started_at: float = Field(description="when it started (Unix seconds)")
    last_seen: float = Field(description="its last heartbeat (Unix seconds; every 10 s)")
    checkpoint: Optional[str] = Field(None, description="the loaded checkpoint, inside SDNext")
    family: Optional[str] = Field(None, description="the loaded checkpoint's family (sd1, xl, f1, ...)")
    busy: bool = Field(description="running a job now")
    queue_depth: int = Field(description="jobs waiting in its queue")
    alive: bool = Field(description="heard from within the last 30 s")
    this: bool = Field(description="the host answering")
    shared_queue: Optional[SharedQueue] = Field(None, description="the answering host's shared job queue; "
                                                                  "null for the other hosts")
