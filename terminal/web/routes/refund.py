"""Refunds (docs/ui.md "Refunds, day-end, status"): find a recent sale (insurance or self-pay),
and refund it whole with a supervisor's PIN, or give back chosen lines and quantities of an
insurance sale (a partial refund, docs/ui.md "Partial refunds"); the refund's receipt is printed."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote as urlquote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from terminal.checkout.refunding import partial_refund, sold_lines
from terminal.checkout.selfpay import is_self_pay_id, refund_self_pay, refund_self_pay_part
from terminal.errors import CheckoutError, LedgerError
from terminal.ledger import get_self_pay, refundable_sales, refundable_self_pay, txn_lines
from terminal.web import i18n
from terminal.web.context import Web
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


@router.get("/refund/partial", response_class=HTMLResponse)
def partial_page(request: Request, web: WebOf, op: PageUser, txn_id: str = "") -> Response:
    web.use_language(request)
    txn_id = txn_id.strip()
    lines: list[Any]
    try:
        with web.lock:
            if is_self_pay_id(txn_id):
                orig, lines = _self_pay_sold(web, txn_id)
            else:
                orig, _ = sold_lines(web.service, txn_id)
                lines = txn_lines(web.service.ledger, orig["seq"])
    except CheckoutError as exc:
        return back("/history", err=problem_text(exc))
    return web.page(request, "refund_partial.html", sale=orig, lines=lines)


def _self_pay_sold(web: Web, self_pay_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A self-pay sale as the partial refund page shows a sale: its row and lines."""
    sale = get_self_pay(web.service.ledger, self_pay_id)
    if sale is None or sale.is_refund:
        raise CheckoutError("refund_refused", f"no self-pay sale {self_pay_id} to refund")
    row = {"txn_id": sale.self_pay_id, "settled_at": sale.settled_at, "psn_name": ""}
    lines = [
        {"line_no": n, "name": line.name, "code": line.code, "qty": line.qty}
        | {"price": line.price, "det_item_fee_sumamt": line.amount}
        for n, line in enumerate(sale.lines)
    ]
    return row | {"medfee_sumamt": sale.total}, lines


@router.post("/refund/partial")
def partial(
    request: Request,
    web: WebOf,
    op: PageUser,
    txn_id: str = Form(...),
    back_qty: Annotated[list[str] | None, Form()] = None,
    reason: str = Form(""),
    sup_id: str = Form(""),
    sup_pin: str = Form(""),
) -> Response:
    web.use_language(request)
    txn_id = txn_id.strip()
    here = f"/refund/partial?txn_id={urlquote(txn_id)}"
    give_back = {n: qty.strip() or "0" for n, qty in enumerate(back_qty or [])}
    try:
        supervisor = web.approve(sup_id.strip(), sup_pin)
        with web.lock:
            if is_self_pay_id(txn_id):
                refund, kept = refund_self_pay_part(
                    web.service, txn_id, give_back, reason=reason, operator=supervisor.id
                )
            else:
                done = partial_refund(
                    web.service, txn_id, give_back, reason=reason, operator=supervisor.id
                )
    except (CheckoutError, LedgerError) as exc:
        return back(here, err=problem_text(exc))
    if is_self_pay_id(txn_id):  # two receipts: the refund, and the kept self-pay sale
        errors = [web.print_txn(refund.self_pay_id)[1]]
        if kept is not None:
            errors.append(web.print_txn(kept.self_pay_id)[1])
        msg = i18n.gettext_("Refund %(r)s of %(t)s committed.") % {
            "r": refund.self_pay_id,
            "t": txn_id,
        }
        if kept is not None:
            msg += " " + i18n.gettext_("The items kept are self-pay sale %(k)s.") % {
                "k": kept.self_pay_id
            }
        return back("/refund", msg=msg, err="; ".join(e for e in errors if e))
    refund_id = done.reversal.txn_id
    _, error = web.print_txn(refund_id)
    if done.kept is None:
        msg = i18n.gettext_("Refund %(r)s of %(t)s committed.") % {"r": refund_id, "t": txn_id}
    else:
        msg = i18n.gettext_(
            "Partial refund %(r)s of %(t)s committed; the lines kept are sale %(k)s."
        ) % {"r": refund_id, "t": txn_id, "k": done.kept.txn_id}
    return back(f"/history/{urlquote(refund_id)}", msg=msg, err=error)
