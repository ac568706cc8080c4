"""This host's id: LORA_MANAGER_HOST_ID, else the machine's name and an id kept in the data dir."""

from __future__ import annotations

import os
import re
import socket
import uuid

ID_FILE = "host-id"
MAX_LEN = 200


def host_id(settings) -> str:
    """The id this host records its file locations and heartbeat under; stable across restarts."""
    given = (settings.host_id or "").strip()
    if given:
        if len(given) > MAX_LEN or not given.isprintable():
            raise ValueError(f"LORA_MANAGER_HOST_ID must be printable text of at most {MAX_LEN} characters")
        return given
    path = os.path.join(settings.data_dir, ID_FILE)
    try:
        with open(path, encoding="utf-8") as fh:
            kept = fh.read().strip()
    except OSError:
        kept = ""
    if not re.fullmatch(r"[0-9a-f]{12}", kept):
        kept = uuid.uuid4().hex[:12]
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(kept + "\n")
        os.replace(tmp, path)
    name = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname() or "host")[:100]
    return f"{name}-{kept}"


def shared(settings, dialect: str) -> bool:
    """Per-host locations, scan locks and notices: on for PostgreSQL unless turned off (or on by hand)."""
    return settings.shared_library == "on" or (settings.shared_library == "auto" and dialect == "postgresql")
