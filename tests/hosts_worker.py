"""A host stand-in in a process of its own, for tests/test_hosts.py: one host of a shared library.

python -m tests.hosts_worker MODE DB_URL DATA_DIR HOST_ID ROOT [ARG]
  scan    scan ROOT once, print the report as JSON
  hold    take ROOT's scan lock as a scan would, print "held", keep it until the file ARG exists
  listen  print the first library.changed event that reaches this host's event stream, as JSON
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from lora_manager.app import build
from lora_manager.settings import Settings


def main() -> None:
    mode, db_url, data_dir, host_id, root = sys.argv[1:6]
    arg = sys.argv[6] if len(sys.argv) > 6 else ""
    app = build(Settings(lora_dirs=[root], data_dir=data_dir, db_url=db_url, host_id=host_id, scan_workers=1,
                         embed_model="off"))
    try:
        if mode == "scan":
            print(json.dumps(app.scan(hash_after=False).as_dict()), flush=True)
        elif mode == "hold":
            with app.scanner.guard(app.scanner.roots) as skipped:
                print("held" if not skipped else "skipped", flush=True)
                deadline = time.monotonic() + 60
                while not os.path.exists(arg) and time.monotonic() < deadline:
                    time.sleep(0.05)
        elif mode == "listen":
            print(json.dumps(asyncio.run(_first_change(app))), flush=True)
    finally:
        app.close()


async def _first_change(app) -> dict:
    sid, queue = app.events.subscribe()
    app.hosts.notices.ready.wait(30)
    print("listening", flush=True)
    try:
        while True:
            event = await asyncio.wait_for(queue.get(), 60)
            if event["type"] == "library.changed":
                return event
    finally:
        app.events.unsubscribe(sid)


if __name__ == "__main__":
    main()
