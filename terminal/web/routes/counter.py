"""The counter page (docs/ui.md "The counter"): identify → basket → pre-settlement → confirm →
receipt, or a self-pay sale when insurance cannot settle the basket.

Every action changes the `Counter` (terminal/checkout/counter.py) and answers either the redrawn
counter fragment (the page's script, `x-fragment: 1`) or a 303 back to the page; a refusal is
shown on the page, in its language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from terminal.checkout.counter import Counter
from terminal.checkout.counter_state import check_total_checked
from terminal.checkout.tender import TenderError, tender_from_form
from terminal.errors import CheckoutError, MedposError
from terminal.web import i18n
from terminal.web.context import Web, is_fragment
from terminal.web.deps import CounterUser, FragmentUser, PageUser, SignedIn, WebOf
from terminal.web.errors import back, explain

__all__ = ["router", "scan_text"]

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def index(request: Request, web: WebOf, op: PageUser) -> Response:
    return web.page(request, "counter.html", **web.counter_view())


@router.get("/counter", response_class=HTMLResponse)
def counter_fragment(request: Request, web: WebOf, op: FragmentUser) -> Response:
    return web.page(request, "_counter.html", **web.counter_view())


def _act(request: Request, web: Web, action: Callable[[], Any]) -> Response:
    """Run one counter action; the redrawn fragment, or back to the counter, with its problem."""
    web.use_language(request)
    err = ""
    try:
        action()
    except MedposError as exc:
        err = _said(exc)
    if is_fragment(request):
        return web.page(request, "_counter.html", **web.counter_view(), flash=err)
    return back("/", err=err)


@router.post("/scan")
def scan(request: Request, web: WebOf, op: CounterUser, text: str = Form("")) -> Response:
    return _act(request, web, lambda: scan_text(web.counter, text))


@router.post("/add")
def add(request: Request, web: WebOf, op: CounterUser, code: str = Form(...)) -> Response:
    return _act(request, web, lambda: web.counter.add(code))


@router.post("/line/{index}")
def edit_line(
    request: Request,
    web: WebOf,
    op: CounterUser,
    index: int,
    qty: str = Form(""),
    price: str = Form(""),
    name: str = Form(""),
    remove: str = Form(""),
) -> Response:
    counter = web.counter

    def act() -> None:
        if remove:
            counter.remove(index)
            return
        if name:
            counter.set_name(index, name)
        if price:
            counter.set_price(index, price)
        if qty:
            counter.set_qty(index, qty)

    return _act(request, web, act)


@router.post("/visit")
def visit(request: Request, web: WebOf, op: CounterUser, med_type: str = Form(...)) -> Response:
    return _act(request, web, lambda: web.counter.set_med_type(med_type))


@router.post("/void")
def void(request: Request, web: WebOf, op: CounterUser) -> Response:
    return _act(request, web, lambda: web.counter.void(op.id))


@router.post("/park")
def park(request: Request, web: WebOf, op: CounterUser) -> Response:
    """Set the basket aside (the button, or F7); docs/ui.md "Park and recall"."""
    return _act(request, web, lambda: web.counter.park(op.id))


@router.post("/recall")
def recall(request: Request, web: WebOf, op: CounterUser, basket_id: str = Form(...)) -> Response:
    """Bring a parked basket back; its customer is identified again before it is quoted."""
    return _act(request, web, lambda: web.counter.recall(basket_id, op.id))


@router.post("/confirm")
def confirm(
    request: Request,
    web: WebOf,
    op: PageUser,
    basket_id: str = Form(...),
    payment_method: str = Form("cash"),
    sup_id: str = Form(""),
    sup_pin: str = Form(""),
    basket_version: str = Form(""),
    total_checked: str = Form(""),
    card_amount: str = Form(""),
    mobile_amount: str = Form(""),
    cash_given: str = Form(""),
) -> Response:
    def act() -> None:
        tender = tender_from_form(card_amount, mobile_amount, cash_given)
        with web.lock:
            confirm_above = web.service.config.web.confirm_above
            check_total_checked(web.counter.state, confirm_above, total_checked)
        approved_by = None
        if sup_id or sup_pin:
            approved_by = web.approve(sup_id.strip(), sup_pin).id
        web.counter.confirm(
            basket_id,
            payment_method=payment_method,
            operator=op.id,
            approved_by=approved_by,
            basket_version=_version(basket_version),
            tender=tender,
        )

    return _act(request, web, act)


@router.post("/self-pay")
def self_pay(
    request: Request,
    web: WebOf,
    op: PageUser,
    basket_id: str = Form(...),
    payment_method: str = Form("cash"),
    basket_version: str = Form(""),
    card_amount: str = Form(""),
    mobile_amount: str = Form(""),
    cash_given: str = Form(""),
) -> Response:
    """The basket sold without insurance (offered only when insurance cannot settle it)."""
    return _act(
        request,
        web,
        lambda: web.counter.self_pay(
            basket_id,
            payment_method=payment_method,
            operator=op.id,
            basket_version=_version(basket_version),
            tender=tender_from_form(card_amount, mobile_amount, cash_given),
        ),
    )


@router.post("/reread")
def reread(request: Request, web: WebOf, op: CounterUser) -> Response:
    """Read the card in the reader again (the button, or F6)."""
    return _act(request, web, web.counter.read_card_again)


def _version(text: str) -> int | None:
    """The basket version a form carried (what the page showed), None when it carried none."""
    return int(text) if text.strip().isdigit() else None


@router.post("/reprint/{txn_id}")
def reprint(request: Request, web: WebOf, op: CounterUser, txn_id: str) -> Response:
    def act() -> None:
        sale = web.counter.state.last_sale
        if sale is not None and sale.receipt_id == txn_id:
            web.counter.print_sale(sale)
        else:
            _, error = web.print_txn(txn_id)
            if error:
                raise CheckoutError("print_failed", error)

    return _act(request, web, act)


@router.post("/refresh-quote")
def refresh_quote(request: Request, web: WebOf, op: CounterUser) -> Response:
    return _act(request, web, web.counter.refresh_quote)


@router.get("/search")
def search(request: Request, web: WebOf, q: str = "") -> Response:
    if web.operator_of(request) is None:
        return JSONResponse([], 401)
    return JSONResponse(web.counter.search(q))


@router.get("/camera.jpg")
def camera_jpg(web: WebOf, op: SignedIn) -> Response:
    codes = web.hooks.codes
    frame = codes.frame if codes is not None else None
    if frame is None:
        return Response(status_code=204)
    from drivers.qr.capture import frame_jpeg

    jpg = frame_jpeg(frame)
    if jpg is None:
        return Response(status_code=204)
    return Response(jpg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


def _said(exc: MedposError) -> str:
    """A refusal in the page's language: its own sentence when the catalogue has it (each bad
    price has its own), else the sentence for its code, else the message as it is."""
    if isinstance(exc, TenderError):  # its amounts filled into the translated sentence
        params = {k: i18n.gettext_(v) for k, v in exc.params.items()}
        return i18n.gettext_(exc.template) % params
    message = str(exc)
    translated = i18n.gettext_(message)
    return translated if translated != message else explain(getattr(exc, "code", "error"), message)


def scan_text(counter: Counter, text: str) -> None:
    """The scan field: a number picks a search result shown; anything else is scanned."""
    text = text.strip()
    st = counter.state
    if st.choices and text.isdigit() and 1 <= int(text) <= len(st.choices):
        counter.add(st.choices[int(text) - 1]["code"])  # a number picks a search result
        return
    counter.scan(text)
