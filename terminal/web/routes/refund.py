"""Refunds (docs/ui.md "Refunds, day-end, status"): find a recent sale (insurance or self-pay),
and refund it whole with a supervisor's PIN; the refund's receipt is printed."""

from __future__ import annotations

from urllib.parse import quote as urlquote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from terminal.checkout.selfpay import is_self_pay_id, refund_self_pay
from terminal.errors import CheckoutError, LedgerError
from terminal.ledger import refundable_sales, refundable_self_pay
from terminal.web import i18n
from terminal.web.deps import PageUser, WebOf
from terminal.web.errors import back, problem_text

__all__ = ["router"]

router = APIRouter()


@router.get("/refund", response_class=HTMLResponse)
def refund_page(
    request: Request, web: WebOf, op: PageUser, q: str = "", txn_id: str = ""
) -> Response:
    with web.lock:
        sales = refundable_sales(web.service.ledger, q.strip())
        self_pay_sales = refundable_self_pay(web.service.ledger, q.strip())
    return web.page(
        request,
        "refund.html",
        sales=sales,
        self_pay_sales=self_pay_sales,
        q=q,
        chosen=txn_id,
        chosen_self_pay=is_self_pay_id(txn_id),
    )


@router.post("/refund")
def refund(
    request: Request,
    web: WebOf,
    op: PageUser,
    txn_id: str = Form(...),
    reason: str = Form(""),
    sup_id: str = Form(""),
    sup_pin: str = Form(""),
) -> Response:
    web.use_language(request)
    service = web.service
    here = f"/refund?txn_id={urlquote(txn_id)}"
    txn_id = txn_id.strip()
    try:
        supervisor = web.approve(sup_id.strip(), sup_pin)
        with web.lock:
            if is_self_pay_id(txn_id):  # a self-pay sale (no insurance): `<dev_no>-S<n>`
                refund_id = refund_self_pay(
                    service, txn_id, reason=reason, operator=supervisor.id
                ).self_pay_id
            else:
                refund_id = service.refund(txn_id, reason=reason, operator=supervisor.id).txn_id
    except (CheckoutError, LedgerError) as exc:
        return back(here, err=problem_text(exc))
    _, error = web.print_txn(refund_id)
    msg = i18n.gettext_("Refund %(r)s of %(t)s committed.") % {"r": refund_id, "t": txn_id}
    if error:
        return back(f"/refund?txn_id={urlquote(txn_id)}", msg=msg, err=error)
    return back("/refund", msg=msg)
