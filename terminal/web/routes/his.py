"""The HIS API (his-api.md "Transport", "Identity at the desk"): `POST /his/v1/call` and
`GET /his/v1/identity`, for the hospital system's adapter holding the `[his]` token. This face
only checks the token, reads the body and hands it to the desk (`terminal/his`)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from terminal.config import Config
from terminal.his import HisDesk, build_desk
from terminal.his.desk import MAX_BODY
from terminal.ledger.his_desk import his_identification, last_identification_id
from terminal.web.context import Web
from terminal.web.deps import WebOf
from terminal.web.guard import bearer_ok, demo_token

__all__ = ["HIS_TOKEN_FILE", "desk_of", "load_his_token", "router"]

router = APIRouter()
HIS_TOKEN_FILE = "his-token"  # noqa: S105 (a file name, not a secret)
_JSON = "application/json; charset=utf-8"


def load_his_token(config: Config) -> tuple[str, Path | None]:
    """(the token, the file it is kept in): `[his] token`; on the demo default one generated
    into `<data_dir>/his-token` (mode 0600) on the first start; else ("", None)."""
    return demo_token(config, config.his.token, HIS_TOKEN_FILE)


def desk_of(web: Web) -> tuple[HisDesk, str]:
    """The web app's desk and token, made on first use."""
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


@router.post("/his/v1/call")
async def his_call(request: Request, web: WebOf) -> Response:
    denied = _denied(request, web)
    if denied is not None:
        return denied
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            break
    desk, _ = desk_of(web)

    def answer() -> tuple[int, bytes]:
        with web.lock:
            return desk.call(body)

    status, content = await asyncio.to_thread(answer)
    return Response(content, status, media_type=_JSON)


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
