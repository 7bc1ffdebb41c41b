"""Receipts on screen and as printer bytes, and `/verify`: what a receipt's QR code says, checked
against this terminal's ledger (docs/ui.md "Receipts")."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from terminal.ledger import entry_of
from terminal.web.deps import PageUser, SignedIn, WebOf
from terminal.web.errors import back
from terminal.web.receipts import parse_verify_text, receipt_for

__all__ = ["router"]

router = APIRouter()


@router.get("/receipt/{txn_id}", response_class=HTMLResponse)
def receipt_page(request: Request, web: WebOf, op: PageUser, txn_id: str) -> Response:
    from drivers.printer import receipt_html

    with web.lock:
        receipt = receipt_for(web.service, txn_id, web.language(request))
    if receipt is None:
        return back("/", err=f"no transaction {txn_id}")
    return HTMLResponse(receipt_html(receipt))


@router.get("/receipt/{txn_id}.escpos")
def receipt_escpos(request: Request, web: WebOf, op: SignedIn, txn_id: str) -> Response:
    from drivers.printer import escpos_bytes

    with web.lock:
        receipt = receipt_for(web.service, txn_id, web.language(request))
    if receipt is None:
        return Response(status_code=404)
    return Response(escpos_bytes(receipt), media_type="application/octet-stream")


@router.get("/verify", response_class=HTMLResponse)
def verify_receipt(request: Request, web: WebOf, code: str = "") -> HTMLResponse:
    """What a receipt's QR code says, checked against this terminal's ledger."""
    found = parse_verify_text(code.strip())
    outcome = "unreadable"
    if found is not None:
        with web.lock:
            entry = entry_of(web.service.ledger, found["txn_id"])
        if found["dev_no"] != web.service.config.terminal.dev_no:
            outcome = "other_terminal"
        elif entry is None:
            outcome = "unknown"
        elif entry == (found["seq"], found["hash"]):
            outcome = "genuine"
        else:
            outcome = "mismatch"
    return web.page(request, "verify.html", code=code, found=found, outcome=outcome)
