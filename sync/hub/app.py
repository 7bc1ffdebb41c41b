"""The platform's HTTP front (platform-api.md "Transport"): FastAPI over one `Hub`.

Stateless between requests: everything lives in the database, so several hub processes can serve
one PostgreSQL database. The message handling runs in the thread pool. A body over 8 MiB is
refused (413) before it is read whole, JSON nested deeper than 32 levels or with a number of more
than 30 digits (400) before any of it reaches the messages; reference data only for an enrolled
device's signed headers (401 otherwise).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from sync.hub.bundles import BundleRefused, answer_bundle, bundle_sender_ok
from sync.hub.console import install_console
from sync.hub.fleet import fleet_gauges
from sync.hub.service import Hub
from sync.metrics import count_messages, instrument
from sync.protocol.bundle import MAX_BUNDLE_BYTES
from sync.protocol.limits import MAX_BODY_BYTES, JsonLimitError, load_limited_json

__all__ = ["HUB_KEEPALIVE_S", "create_app"]

# how long `medpos hub serve` keeps an idle connection open: longer than a terminal keeps one
# (sync/client/http.py KEEPALIVE_S), so that the terminal always closes first
HUB_KEEPALIVE_S = 15


def create_app(hub: Hub) -> FastAPI:
    app = FastAPI(title="medpos reference platform", docs_url=None, redoc_url=None)

    async def _json(request: Request, limit: int = MAX_BODY_BYTES) -> Any:
        """The body parsed, `_MALFORMED` when it is not JSON, or the refusal (a
        `JSONResponse`) of a body over the limits: one over `MAX_BODY_BYTES` is refused as soon
        as its declared length, or the bytes read so far, say so (the rest is never read)."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return _too_large(limit)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return _too_large(limit)
            chunks.append(chunk)
        try:
            return load_limited_json(b"".join(chunks))
        except JsonLimitError as exc:
            return JSONResponse(hub.refusal(str(exc)), 400)
        except (ValueError, UnicodeDecodeError):
            return _MALFORMED

    def _too_large(limit: int) -> JSONResponse:
        refusal = hub.refusal(f"the body is over {limit} bytes")
        return JSONResponse(refusal, 413, headers={"connection": "close"})

    @app.post("/fsi/api/call")
    async def call(request: Request) -> JSONResponse:
        envelope = await _json(request)
        if isinstance(envelope, JSONResponse):
            return envelope
        status, response = await _run(hub.call, envelope)
        count_messages("hub", [envelope], [response])
        return JSONResponse(response, status)

    @app.post("/fsi/api/batch")
    async def batch(request: Request) -> JSONResponse:
        body = await _json(request)
        if isinstance(body, JSONResponse):
            return body
        status, response = await _run(hub.batch, body)
        if status == 200:
            count_messages("hub", body["messages"], response["results"])
        return JSONResponse(response, status)

    @app.post("/fsi/api/bundle")
    async def bundle(request: Request) -> JSONResponse:
        headers = {k: request.headers[k] for k in _DEVICE_HEADERS if k in request.headers}
        if not await _run(bundle_sender_ok, hub, headers):
            refusal = hub.refusal("a bundle is carried by an enrolled device's signed headers")
            return JSONResponse(refusal, 401)
        body = await _json(request, MAX_BUNDLE_BYTES)
        if isinstance(body, JSONResponse):
            return body
        if body is _MALFORMED:
            return JSONResponse(hub.refusal("the body is not JSON"), 400)
        try:
            return JSONResponse(await _run(answer_bundle, hub, body))
        except BundleRefused as exc:
            refusal = hub.refusal(str(exc))
            refusal["output"] = {"index": exc.index, "msgid": exc.msgid}
            return JSONResponse(refusal, 422)

    @app.get("/fsi/api/refdata/{kind}")
    async def refdata(request: Request, kind: str, since: int | None = None) -> Response:
        headers = {k: request.headers[k] for k in _DEVICE_HEADERS if k in request.headers}
        status, obj = await _run(hub.refdata, kind, since, headers)
        if obj is None:
            return Response(status_code=status)
        return JSONResponse(obj, status)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    install_console(app, hub)
    instrument(app, "hub", lambda: fleet_gauges(hub.engine, hub.clock, hub.tz))
    return app


_DEVICE_HEADERS = ("x-dev-no", "x-dev-time", "x-dev-sig")
_MALFORMED = object()  # not JSON: the shape check answers 400 naming it


async def _run(fn: Any, *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)
