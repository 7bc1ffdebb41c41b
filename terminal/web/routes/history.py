"""Sale history (docs/ui.md "Sale history"): a day's sales and refunds found by time, person or
receipt number, one sale's lines and split, and a reprint of any sale's receipt. A cashier sees
their own sales and their refunds (a supervisor's approval); a supervisor sees every cashier's."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote as urlquote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from terminal.checkout.operators import Operator
from terminal.errors import CheckoutError
from terminal.ledger import txn_lines, txn_of
from terminal.ledger.history import HistoryQuery, find_sales, history_row, partial_refund_of
from terminal.web import i18n
from terminal.web.deps import PageUser, WebOf
from terminal.web.errors import back, problem_text

__all__ = ["router"]

router = APIRouter()


def _cashier(op: Operator, asked: str) -> str:
    """Whose sales `op` may see: their own, or (a supervisor) the one asked for, or everyone's."""
    return asked.strip() if op.may("supervisor") else op.id


@router.get("/history", response_class=HTMLResponse)
def history_page(
    request: Request,
    web: WebOf,
    op: PageUser,
    date: str = "",
    time_from: str = "",
    time_to: str = "",
    person: str = "",
    receipt: str = "",
    cashier: str = "",
    page: int = 1,
) -> Response:
    web.use_language(request)
    try:
        day = web.parse_day(date.strip())
    except CheckoutError as exc:
        return back("/history", err=problem_text(exc))
    query = HistoryQuery(
        day=day,
        time_from=_hhmm(time_from),
        time_to=_hhmm(time_to),
        person=person.strip(),
        receipt=receipt.strip(),
        operator=_cashier(op, cashier),
        page=max(1, page),
    )
    with web.lock:
        rows, more = find_sales(web.service.ledger, query)
    return web.page(
        request,
        "history.html",
        rows=rows,
        more=more,
        q=query,
        cashier=cashier,
        everyone=op.may("supervisor"),
    )


def _hhmm(text: str) -> str:
    text = text.strip()
    if len(text) == 5 and text[2] == ":" and text.replace(":", "").isdigit():
        return text
    return ""  # a time the page's own field did not give is no bound


@router.get("/history/{txn_id}", response_class=HTMLResponse)
def sale_page(request: Request, web: WebOf, op: PageUser, txn_id: str) -> Response:
    web.use_language(request)
    found = _visible(web, op, txn_id)
    if found is None:
        return back("/history", err=i18n.gettext_("No such sale: %(t)s") % {"t": txn_id})
    return web.page(request, "sale.html", **found)


def _visible(web: Any, op: Operator, txn_id: str) -> dict[str, Any] | None:
    """What the sale page shows of `txn_id`, or None when there is none (or not for `op`)."""
    ledger = web.service.ledger
    with web.lock:
        row = history_row(ledger, txn_id)
        if row is None or (
            not op.may("supervisor") and op.id not in (row["operator"], row["owner"])
        ):
            return None
        source = row if row["kind"] == "sale" else txn_of(ledger, row["orig_txn_id"])
        lines = txn_lines(ledger, source["seq"]) if source is not None else []
        role = "orig_txn_id" if row["kind"] == "sale" else "reversal_txn_id"
        link = partial_refund_of(ledger, txn_id, role)
        if link is None and row["kind"] == "sale":
            link = partial_refund_of(ledger, txn_id, "kept_txn_id")
    return {"row": row, "lines": lines, "link": link}


@router.post("/history/{txn_id}/print")
def reprint(request: Request, web: WebOf, op: PageUser, txn_id: str) -> Response:
    web.use_language(request)
    here = f"/history/{urlquote(txn_id)}"
    if _visible(web, op, txn_id) is None:
        return back("/history", err=i18n.gettext_("No such sale: %(t)s") % {"t": txn_id})
    where, error = web.print_txn(txn_id)
    if error:
        return back(here, err=error)
    if not where:
        return back(here, err=i18n.gettext_("No printer is configured: open the receipt."))
    return back(here, msg=i18n.gettext_("Receipt %(t)s printed again.") % {"t": txn_id})
