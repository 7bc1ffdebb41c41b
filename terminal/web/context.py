"""What every page of one terminal shares: the checkout service under its lock, the counter, the
hooks of the running terminal, who is signed in, and the templates (`Web`, one per app, kept in
`app.state.web`; routers reach it with `Depends(web_of)`)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from terminal.checkout.counter import MED_TYPES, PAYMENT_METHODS, Counter
from terminal.checkout.operators import Operator, check_pin, sign_session
from terminal.checkout.service import CheckoutService
from terminal.checkout.syncing import sync_gauges, sync_status
from terminal.errors import CheckoutError
from terminal.ledger.bundles import bundle_status
from terminal.settlement.money import format_fen
from terminal.web import i18n
from terminal.web.errors import explain
from terminal.web.guard import PRE_COOKIE, load_api_token, pre_csrf
from terminal.web.hooks import Hooks
from terminal.web.live import ChangeFeed
from terminal.web.receipts import receipt_for
from terminal.web.sessions import (
    PASSIVE_PATHS,
    SESSION_COOKIE,
    PinLockout,
    Session,
    Sessions,
)

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

    def __init__(
        self,
        service: CheckoutService,
        hooks: Hooks,
        lock: threading.RLock,
        clock: Callable[[], float] = time.time,
        api_token: str | None = None,
    ) -> None:
        self.service = service
        self.hooks = hooks
        self.lock = lock
        idle_s = service.config.web.idle_signout_min * 60.0
        self.sessions = Sessions(idle_s, clock, on_idle=self._signed_out)
        self.lockout = PinLockout(service.ledger, clock=clock)
        self.counter = Counter(service, lock, printer=self.print_txn)
        self.feed = ChangeFeed(self.counter)
        self.reconciliations: dict[str, Any] = {}  # business date → the platform's answer
        self.secret = secrets.token_bytes(32)  # binds a signed-out browser's CSRF token
        if api_token is None:
            self.api_token, self.api_token_path = load_api_token(service.config)
        else:
            self.api_token, self.api_token_path = api_token, None

    # -- the request ------------------------------------------------------------------------

    def language(self, request: Request) -> str:
        lang = request.cookies.get("lang") or self.service.config.web.language
        return lang if lang in i18n.LANGUAGES else "zh"

    def use_language(self, request: Request) -> None:
        """Strings translated from here on are in the request's language."""
        i18n.current.set(self.language(request))

    def session_of(self, request: Request) -> Session | None:
        """The request's live session; a request the page's script makes on its own (polling)
        does not count as activity."""
        active = request.url.path not in PASSIVE_PATHS
        return self.sessions.session(request.cookies.get(SESSION_COOKIE), active=active)

    def operator_of(self, request: Request) -> Operator | None:
        found = self.session_of(request)
        return found.op if found is not None else None

    def csrf_of(self, request: Request) -> str:
        """The CSRF token this request's forms must carry ("" for a signed-out browser with no
        `medpos_pre` cookie yet: `page` sets one)."""
        found = self.session_of(request)
        if found is not None:
            return found.csrf
        pre = request.cookies.get(PRE_COOKIE)
        return pre_csrf(self.secret, pre) if pre else ""

    def _signed_out(self, op: Operator) -> None:
        """An idle session ended: recorded as a sign-out."""
        with self.lock:
            sign_session(self.service, op.id, op.name, False, self.hooks.platform)

    # -- what pages show --------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        with self.lock:
            st = sync_status(self.service)
            head = self.service.ledger.head()
            bundles = bundle_status(self.service.ledger)
        return {**st, "head": head, "bundles": bundles}

    def sync_gauges(self) -> list[tuple[str, str, float, dict[str, str]]]:
        """The figures `/metrics` reads at each scrape (queue, oldest unsynced, last sync)."""
        with self.lock:
            return sync_gauges(self.service)

    def page(self, request: Request, name: str, **ctx: Any) -> HTMLResponse:
        self.use_language(request)
        pre = None
        csrf = self.csrf_of(request)
        if not csrf:
            pre = secrets.token_urlsafe(24)
            csrf = pre_csrf(self.secret, pre)
        base = {
            "csrf": csrf,
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
        if pre is not None:
            response.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="strict")
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
                "parked": counter.parked(),
            }

    def parse_day(self, text: str) -> date:
        """A business date as a page gives it (`YYYY-MM-DD`), today when empty."""
        try:
            return date.fromisoformat(text) if text else self.service.local_now().date()
        except ValueError:
            raise CheckoutError("bad_date", "a date is written YYYY-MM-DD") from None

    # -- what pages do ----------------------------------------------------------------------

    def approve(self, sup_id: str, pin: str, role: str = "supervisor") -> Operator:
        """An approval by PIN; five wrong PINs lock that id for five minutes. The check and its
        count are one step under the terminal's lock: parallel guesses count one by one."""
        with self.lock:
            if self.lockout.locked(sup_id):
                raise CheckoutError(
                    "pin_locked", "too many wrong PINs for this operator: wait five minutes"
                )
            try:
                op = check_pin(self.service, sup_id, pin, role)
            except CheckoutError as exc:
                if exc.code != "bad_pin":
                    raise
                left = self.lockout.failed(sup_id)
                self.service.ledger.audit(
                    "refusal", sup_id or None, {"code": "bad_pin"}, self.service.local_now()
                )
                if 0 < left <= 2:
                    raise CheckoutError("bad_pin_last_tries", _last_tries(left)) from None
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


def _last_tries(left: int) -> str:
    text = i18n.ngettext_(
        "Operator id or PIN not recognised: %(n)d try left before this id is locked for 5 minutes.",
        "Operator id or PIN not recognised: %(n)d tries left before this id is locked for 5 "
        "minutes.",
        left,
    )
    return text % {"n": left}


def web_of(request: Request) -> Web:
    """The terminal's pages behind this request's app."""
    web: Web = request.app.state.web
    return web


def is_fragment(request: Request) -> bool:
    """True when the page's script asked for a fragment to redraw in place."""
    return request.headers.get("x-fragment") == "1"
