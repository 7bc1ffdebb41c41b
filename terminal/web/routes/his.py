"""The HIS API (his-api.md "Transport", "Identity at the desk"): `POST /his/v1/call` and
`GET /his/v1/identity`, for the hospital system's adapter holding the `[his]` token. This face
only checks the token, reads the body and hands it to the desk (`terminal/his`).

`POST /his/v1/call` is answered by `CallFront`, a plain ASGI layer in front of the app's router:
a visit is five calls in a row, and FastAPI's routing through the app's routers, its request
objects and its dependency solving cost about 0.5 ms a call, more than the HTTP server's own
work (docs/his.md "Durability and speed"). The route's metrics are kept as for any other route.
When no page's request holds the counter's lock, the desk answers on the server's own thread:
handing the call to a worker thread and back cost about 0.5 ms more (two thread wake-ups on
this two-core machine), and the HIS waits for each answer before it sends its next message.
Meanwhile the server answers nothing else, for the few milliseconds a message takes.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from terminal.config import Config
from terminal.his import HisDesk, build_desk
from terminal.his.desk import MAX_BODY
from terminal.ledger.his_desk import his_identification, last_identification_id
from terminal.web.context import Web
from terminal.web.deps import WebOf
from terminal.web.guard import bearer_header_ok, bearer_ok, demo_token

__all__ = ["CALL_PATH", "HIS_TOKEN_FILE", "CallFront", "desk_of", "load_his_token", "router"]

router = APIRouter()
HIS_TOKEN_FILE = "his-token"  # noqa: S105 (a file name, not a secret)
_JSON = b"application/json; charset=utf-8"


def load_his_token(config: Config) -> tuple[str, Path | None]:
    """(the token, the file it is kept in): `[his] token`; on the demo default one generated
    into `<data_dir>/his-token` (mode 0600) on the first start; else ("", None)."""
    return demo_token(config, config.his.token, HIS_TOKEN_FILE)


def desk_of(web: Web) -> tuple[HisDesk, str]:
    """The web app's desk and token, made on first use."""
    found = getattr(web, "his_desk", None)
    if found is None:
        with web.lock:  # (making it writes the ledger: never beside a page's request)
            found = getattr(web, "his_desk", None)
            if found is None:
                token, _ = load_his_token(web.service.config)
                found = (build_desk(web.service), token)
                web.his_desk = found  # type: ignore[attr-defined]
    return found


def _denied(request: Request, web: Web) -> Response | None:
    if not web.service.config.his.enabled:
        return Response(status_code=404)
    _, token = desk_of(web)
    if not bearer_ok(request, token):
        return Response(status_code=401)
    return None


CALL_PATH = "/his/v1/call"
_CALL_PATHS = (CALL_PATH, CALL_PATH + "/")  # (a trailing slash was redirected to it before)
_CALL_ROUTE = SimpleNamespace(path=CALL_PATH)  # what the metrics read as the route's template


class CallFront:
    """ASGI: `POST /his/v1/call` answered here; every other request goes on to `app`."""

    def __init__(self, app: ASGIApp, web: Web) -> None:
        self.app, self.web = app, web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in _CALL_PATHS:
            await self.app(scope, receive, send)
            return
        scope["route"] = _CALL_ROUTE
        web = self.web
        if scope["method"] != "POST":
            await _send(send, 405, b"", [(b"allow", b"POST")])
            return
        if not web.service.config.his.enabled:
            await _send(send, 404, b"")
            return
        desk, token = desk_of(web)
        if not _bearer_ok(scope, token):
            await _send(send, 401, b"")
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the HIS went away before its message was whole: nothing was done
            body += message.get("body", b"")
            if len(body) > MAX_BODY or not message.get("more_body"):
                break

        if web.lock.acquire(blocking=False):  # the counter is free: answered on this thread
            try:
                status, content = desk.call(body)
            finally:
                web.lock.release()
        else:  # a page's request holds the counter: wait for it in a worker thread, not here
            status, content = await asyncio.to_thread(_call_locked, web, desk, body)
        await _send(send, status, content, [(b"content-type", _JSON)])


def _call_locked(web: Web, desk: HisDesk, body: bytes) -> tuple[int, bytes]:
    with web.lock:
        return desk.call(body)


def _bearer_ok(scope: Scope, token: str) -> bool:
    """As `bearer_ok`, on the raw headers."""
    for name, value in scope["headers"]:
        if name.lower() == b"authorization":
            return bearer_header_ok(value.decode("latin-1"), token)
    return False


async def _send(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    head = [(b"content-length", str(len(body)).encode("ascii")), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


@router.get("/his/v1/identity")
async def his_identity(request: Request, web: WebOf, wait_s: float | None = None) -> Response:
    denied = _denied(request, web)
    if denied is not None:
        return denied
    service = web.service
    if wait_s is not None:
        after = last_identification_id(service.ledger)
        deadline = time.monotonic() + max(0.0, min(wait_s, 60.0))
        while True:
            found = his_identification(service.ledger, since_s=0, after_id=after)
            if found is not None or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.2)
    else:
        since = service.clock.now().timestamp() - service.config.his.cert_max_age_s
        found = his_identification(service.ledger, since_s=since)
    if found is None:
        return JSONResponse({"err_code": "no_identity"}, 404)
    out: dict[str, Any] = dict(found)
    return JSONResponse(out)
