"""The bare baseline: a FastAPI route returning a precomputed list page (orjson bytes).

    python bench/bare_server.py PAGE.json PORT

What this machine gives for the same bytes with no database, no filters, no
middleware: the ceiling our list route is compared with (bench/bench_memory.py)."""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI
from starlette.responses import Response


def main() -> None:
    with open(sys.argv[1], "rb") as f:
        body = f.read()
    app = FastAPI()

    @app.get("/page")
    async def page() -> Response:
        return Response(body, media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
