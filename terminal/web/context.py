"""What every page of one terminal shares: the checkout service under its lock, the counter, the
hooks of the running terminal, who is signed in, and the templates (`Web`, one per app, kept in
`app.state.web`; routers reach it with `Depends(web_of)`)."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from terminal.checkout.counter import MED_TYPES, PAYMENT_METHODS, Counter
from terminal.checkout.operators import Operator, check_pin
from terminal.checkout.service import CheckoutService
from terminal.checkout.syncing import sync_status
from terminal.errors import CheckoutError
from terminal.settlement.money import format_fen
from terminal.web import i18n
from terminal.web.errors import explain
from terminal.web.hooks import Hooks
from terminal.web.receipts import receipt_for
from terminal.web.sessions import SESSION_COOKIE, PinLockout, Sessions

__all__ = ["TEMPLATES", "Web", "is_fragment", "web_of"]

HERE = Path(__file__).parent
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(HERE / "templates")),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
)
_ENV.install_gettext_callables(  # type: ignore[attr-defined]  # from jinja2.ext.i18n
    i18n.gettext_, i18n.ngettext_, newstyle=True
)
TEMPLATES = Jinja2Templates(env=_ENV)


class Web:
    """One terminal's pages: the service, its lock, the counter, the hooks and the sign-ins."""

    def __init__(self, service: CheckoutService, hooks: Hooks, lock: threading.RLock) -> None:
        self.service = service
        self.hooks = hooks
        self.lock = lock
        self.sessions = Sessions()
        self.lockout = PinLockout()
        self.counter = Counter(service, lock, printer=self.print_txn)
        self.reconciliations: dict[str, Any] = {}  # business date → the platform's answer

    # -- the request ------------------------------------------------------------------------

    def language(self, request: Request) -> str:
        lang = request.cookies.get("lang") or self.service.config.web.language
        return lang if lang in i18n.LANGUAGES else "zh"

    def use_language(self, request: Request) -> None:
        """Strings translated from here on are in the request's language."""
        i18n.current.set(self.language(request))

    def operator_of(self, request: Request) -> Operator | None:
        return self.sessions.get(request.cookies.get(SESSION_COOKIE))

    # -- what pages show --------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        with self.lock:
            st = sync_status(self.service)
            head = self.service.ledger.head()
        return {**st, "head": head}

    def page(self, request: Request, name: str, **ctx: Any) -> HTMLResponse:
        self.use_language(request)
        base = {
            "config": self.service.config,
            "operator": self.operator_of(request),
            "lang": i18n.current.get(),
            "status": self.status(),
            "fen": format_fen,
            "explain": explain,
            "msg": request.query_params.get("msg", ""),
            "err": request.query_params.get("err", ""),
            "demo": bool(self.hooks.demo_card or self.hooks.demo_phone),
        }
        response: HTMLResponse = TEMPLATES.TemplateResponse(request, name, {**base, **ctx})
        return response

    def counter_view(self) -> dict[str, Any]:
        counter = self.counter
        with self.lock:
            st = counter.state
            quote = st.quote
            return {
                "st": st,
                "version": counter.version,
                "quote": quote,
                "result": quote.result if quote else None,
                "payment_methods": PAYMENT_METHODS,
                "med_types": MED_TYPES,
                "camera": self.hooks.codes.view() if self.hooks.codes is not None else None,
                "self_pay_amounts": counter.self_pay_amounts(),
            }

    def parse_day(self, text: str) -> date:
        """A business date as a page gives it (`YYYY-MM-DD`), today when empty."""
        try:
            return date.fromisoformat(text) if text else self.service.local_now().date()
        except ValueError:
            raise CheckoutError("bad_date", "a date is written YYYY-MM-DD") from None

    # -- what pages do ----------------------------------------------------------------------

    def approve(self, sup_id: str, pin: str, role: str = "supervisor") -> Operator:
        """An approval by PIN; five wrong PINs lock that id for five minutes."""
        if self.lockout.locked(sup_id):
            raise CheckoutError(
                "pin_locked", "too many wrong PINs for this operator: wait five minutes"
            )
        try:
            with self.lock:
                op = check_pin(self.service, sup_id, pin, role)
        except CheckoutError as exc:
            if exc.code == "bad_pin":
                self.lockout.failed(sup_id)
                with self.lock:
                    self.service.ledger.audit(
                        "refusal", sup_id or None, {"code": "bad_pin"}, self.service.local_now()
                    )
            raise
        self.lockout.passed(sup_id)
        return op

    def print_txn(self, txn_id: str) -> tuple[str, str]:
        """Print the receipt of `txn_id`: (where it went, error); ("", "") without a printer."""
        if self.hooks.print_receipt is None:
            return "", ""
        with self.lock:
            receipt = receipt_for(self.service, txn_id, i18n.current.get())
        if receipt is None:
            return "", f"no transaction {txn_id}"
        try:
            return self.hooks.print_receipt(receipt), ""
        except Exception as exc:  # noqa: BLE001 - a printer fault is shown, never loses the sale
            return "", str(exc)


def web_of(request: Request) -> Web:
    """The terminal's pages behind this request's app."""
    web: Web = request.app.state.web
    return web


def is_fragment(request: Request) -> bool:
    """True when the page's script asked for a fragment to redraw in place."""
    return request.headers.get("x-fragment") == "1"
