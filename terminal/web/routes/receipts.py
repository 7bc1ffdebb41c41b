"""Receipts on screen, as printer bytes and as PDF, and `/verify`: what a receipt's QR code says,
checked against this terminal's ledger, with the refund of the sale when there is one (docs/ui.md
"Receipts")."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from terminal.errors import DriverError
from terminal.ledger import entry_of
from terminal.ledger.history import refund_of
from terminal.web.deps import PageUser, SignedIn, WebOf
from terminal.web.errors import back
from terminal.web.receipts import parse_verify_text, receipt_for

__all__ = ["router"]

router = APIRouter()

# `/receipt/{txn_id}.escpos` and `.pdf` come before `/receipt/{txn_id}`: that route's `txn_id`
# also matches "X.escpos", so declared first it answered every such request (issue 13)


@router.get("/receipt/{txn_id}.escpos")
def receipt_escpos(request: Request, web: WebOf, op: SignedIn, txn_id: str) -> Response:
    from drivers.printer import escpos_bytes

    with web.lock:
        receipt = receipt_for(web.service, txn_id, web.language(request))
    if receipt is None:
        return Response(status_code=404)
    return Response(escpos_bytes(receipt), media_type="application/octet-stream")


@router.get("/receipt/{txn_id}.pdf")
def receipt_pdf(request: Request, web: WebOf, op: SignedIn, txn_id: str) -> Response:
    from drivers.printer.pdf import receipt_pdf as render

    with web.lock:
        receipt = receipt_for(web.service, txn_id, web.language(request))
    if receipt is None:
        return Response(status_code=404)
    try:
        pdf = render(receipt)
    except DriverError as exc:  # the font is missing: said, with how to install it
        return PlainTextResponse(str(exc), status_code=503)
    disposition = f'inline; filename="receipt-{txn_id}.pdf"'
    return Response(pdf, media_type="application/pdf", headers={"content-disposition": disposition})


@router.get("/receipt/{txn_id}", response_class=HTMLResponse)
def receipt_page(request: Request, web: WebOf, op: PageUser, txn_id: str) -> Response:
    from drivers.printer import receipt_html

    with web.lock:
        receipt = receipt_for(web.service, txn_id, web.language(request))
    if receipt is None:
        return back("/", err=f"no transaction {txn_id}")
    return HTMLResponse(receipt_html(receipt))


@router.get("/verify", response_class=HTMLResponse)
def verify_receipt(request: Request, web: WebOf, code: str = "") -> HTMLResponse:
    """What a receipt's QR code says, checked against this terminal's ledger."""
    found = parse_verify_text(code.strip())
    outcome = "unreadable"
    refund = None
    if found is not None:
        with web.lock:
            entry = entry_of(web.service.ledger, found["txn_id"])
            if entry is not None and entry == (found["seq"], found["hash"]):
                refund = refund_of(web.service.ledger, found["txn_id"])
        if found["dev_no"] != web.service.config.terminal.dev_no:
            outcome = "other_terminal"
            refund = None
        elif entry is None:
            outcome = "unknown"
        elif entry == (found["seq"], found["hash"]):
            outcome = "genuine"
        else:
            outcome = "mismatch"
    return web.page(request, "verify.html", code=code, found=found, outcome=outcome, refund=refund)
