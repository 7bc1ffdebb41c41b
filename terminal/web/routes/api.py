"""The terminal's HTTP API for a hospital information system on the same machine (docs/ui.md
"HTTP API"): `GET /api/status`, and `POST /api/checkout`, the same headless sale as `medpos
checkout --claim` (with `"self_pay": true`, as `--self-pay`)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from terminal.checkout.selfpay import new_basket_id, sell_self_pay
from terminal.errors import MedposError
from terminal.web.context import Web
from terminal.web.deps import WebOf
from terminal.web.errors import sale_problem, self_pay_problem

__all__ = ["router", "sell"]

router = APIRouter()


@router.get("/api/status")
def api_status(web: WebOf) -> dict[str, Any]:
    st = web.status()
    return {
        "dev_no": web.service.config.terminal.dev_no,
        "head_seq": st["head"][0],
        "outbox": st["queue"],
        "oldest_unsynced": st["oldest_unsynced"],
        "online": st["online"],
        "last_sync_at": st["last_sync_at"],
        "parked": len(st["parked"]),
        "alert": st["alert"],
        "rolled_back": st["rolled_back"],
        "counter": web.counter.version,
    }


@router.post("/api/checkout")
async def api_checkout(request: Request, web: WebOf) -> JSONResponse:
    try:
        claim = await request.json()
    except ValueError:
        return JSONResponse({"error": "bad_json", "message": "the body is not JSON"}, 400)
    code, body = await asyncio.to_thread(sell, web, claim)
    return JSONResponse(body, code)


def sell(web: Web, claim: Any) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of one headless sale."""
    if isinstance(claim, dict):
        flag = claim.get("self_pay", False)
        if not isinstance(flag, bool):
            problem = f"request.self_pay: {flag!r} is not true or false"
            return 422, {"error": "invalid_input", "message": problem}
        if flag:
            return _sell_self_pay(web, claim)
        if "basket_id" in claim:
            problem = 'request.basket_id: a basket id is for a self-pay sale ("self_pay": true)'
            return 422, {"error": "invalid_input", "message": problem}
    try:
        with web.lock:
            outcome = web.service.sell_claim(claim, source="request")
    except MedposError as exc:
        return sale_problem(exc)
    return 200, outcome.line()


def _sell_self_pay(web: Web, claim: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of `{"self_pay": true, "basket": [...], "payment_method"?,
    "basket_id"?}`: the basket sold without insurance, as `medpos checkout --self-pay` (a
    person in the body is not used); bad input is 422 naming the field, nothing written."""
    try:
        with web.lock:
            outcome = sell_self_pay(
                web.service,
                claim.get("basket", []),  # checked by the pricing: a non-empty list
                basket_id=claim.get("basket_id", new_basket_id()),
                payment_method=claim.get("payment_method", "cash"),
                reason="requested",
                source="request",
            )
    except MedposError as exc:
        return self_pay_problem(exc)
    return 200, outcome.line()
