"""The terminal's HTTP API for a hospital information system on the same machine (docs/ui.md
"HTTP API"): `GET /api/status`, and `POST /api/checkout`, the same headless sale as `medpos
checkout --claim` (with `"self_pay": true`, as `--self-pay`), for a caller holding the API token
(docs/security.md)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from terminal.checkout.selfpay import new_basket_id, sell_self_pay
from terminal.checkout.tender import TenderRequest, tender_from_json
from terminal.errors import CheckoutError, MedposError
from terminal.web.context import Web
from terminal.web.deps import WebOf
from terminal.web.errors import sale_problem, self_pay_problem
from terminal.web.guard import bearer_ok

__all__ = ["API_OPERATOR", "router", "sell"]

router = APIRouter()

API_OPERATOR = "api"  # the operator recorded for a sale whose request names none
_OPERATOR = re.compile(r"[^\x00-\x1f]{1,32}")
_NOT_CLAIM = ("operator", "basket_id", "tender", "cash_given")  # the request's, not the claim's


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
    """The headless sale: `Authorization: Bearer <[web] api_token>` (401 otherwise) and a JSON
    body (415 otherwise: a cross-origin form post is `text/plain` or a form, never JSON)."""
    if not bearer_ok(request, web.api_token):
        problem = "Authorization: Bearer <the [web] api_token> is needed for a sale"
        return JSONResponse(
            {"error": "unauthorized", "message": problem},
            401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        problem = f"the body must be application/json, not {media or 'unnamed'}"
        return JSONResponse({"error": "unsupported_media_type", "message": problem}, 415)
    try:
        claim = await request.json()
    except ValueError:
        return JSONResponse({"error": "bad_json", "message": "the body is not JSON"}, 400)
    code, body = await asyncio.to_thread(sell, web, claim)
    return JSONResponse(body, code)


def sell(web: Web, claim: Any) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of one headless sale; the operator is the request's `"operator"`,
    else `API_OPERATOR`; `"basket_id"` makes a retry give the first sale's answer."""
    operator = API_OPERATOR
    basket_id = None
    tender = None
    if isinstance(claim, dict):
        if "tender" in claim or "cash_given" in claim:  # how the person pays (docs/core.md)
            try:
                tender = tender_from_json(claim.get("tender"), claim.get("cash_given"))
            except CheckoutError as exc:
                return 422, {"error": exc.code, "message": str(exc)}
        operator = claim.get("operator", API_OPERATOR)
        if not isinstance(operator, str) or not _OPERATOR.fullmatch(operator):
            problem = f"request.operator: {operator!r} is not an operator id (1 to 32 characters)"
            return 422, {"error": "invalid_input", "message": problem}
        flag = claim.get("self_pay", False)
        if not isinstance(flag, bool):
            problem = f"request.self_pay: {flag!r} is not true or false"
            return 422, {"error": "invalid_input", "message": problem}
        if flag:
            return _sell_self_pay(web, claim, operator, tender)
        basket_id = claim.get("basket_id")
        if basket_id is not None and not isinstance(basket_id, str):
            problem = f"request.basket_id: {basket_id!r} is not a basket id"
            return 422, {"error": "invalid_input", "message": problem}
        claim = {k: v for k, v in claim.items() if k not in _NOT_CLAIM}
    try:
        with web.lock:
            outcome = web.service.sell_claim(
                claim, source="request", operator=operator, basket_id=basket_id, tender=tender
            )
    except MedposError as exc:
        return sale_problem(exc)
    return 200, outcome.line()


def _sell_self_pay(
    web: Web, claim: dict[str, Any], operator: str, tender: TenderRequest | None
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of `{"self_pay": true, "basket": [...], "payment_method"?,
    "basket_id"?, "tender"?, "cash_given"?}`: the basket sold without insurance, as `medpos
    checkout --self-pay` (a person in the body is not used); bad input is 422 naming the field,
    nothing written."""
    try:
        with web.lock:
            outcome = sell_self_pay(
                web.service,
                claim.get("basket", []),  # checked by the pricing: a non-empty list
                basket_id=claim.get("basket_id", new_basket_id()),
                payment_method=claim.get("payment_method", "cash"),
                reason="requested",
                operator=operator,
                source="request",
                tender=tender,
            )
    except MedposError as exc:
        return self_pay_problem(exc)
    return 200, outcome.line()
