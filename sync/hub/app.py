"""The platform's HTTP front (platform-api.md "Transport"): FastAPI over one `Hub`.

Stateless between requests: everything lives in the database, so several hub processes can serve
one PostgreSQL database. Handlers are plain `def`s (FastAPI runs them in its thread pool).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from sync.hub.service import Hub

__all__ = ["HUB_KEEPALIVE_S", "create_app"]

# how long `medpos hub serve` keeps an idle connection open: longer than a terminal keeps one
# (sync/client/http.py KEEPALIVE_S), so that the terminal always closes first
HUB_KEEPALIVE_S = 15


def create_app(hub: Hub) -> FastAPI:
    app = FastAPI(title="medpos reference platform", docs_url=None, redoc_url=None)

    async def _json(request: Request) -> Any:
        body = await request.body()
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _MALFORMED

    @app.post("/fsi/api/call")
    async def call(request: Request) -> JSONResponse:
        envelope = await _json(request)
        status, response = await _run(hub.call, envelope)
        return JSONResponse(response, status)

    @app.post("/fsi/api/batch")
    async def batch(request: Request) -> JSONResponse:
        body = await _json(request)
        status, response = await _run(hub.batch, body)
        return JSONResponse(response, status)

    @app.get("/fsi/api/refdata/{kind}")
    async def refdata(kind: str, since: int | None = None) -> Response:
        status, obj = await _run(hub.refdata, kind, since)
        if obj is None:
            return Response(status_code=status)
        return JSONResponse(obj, status)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


_MALFORMED = object()  # not JSON: the shape check answers 400 naming it


async def _run(fn: Any, *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)
