"""The cashier and supervisor web UI, and the headless sale over HTTP.

Server-rendered pages (FastAPI + Jinja2, no front-end build step) with a small script for the
keyboard, live updates (server-sent events) and in-place redraws; every form also works without
the script. Pages: sign-in, the counter (identify → basket → pre-settlement → confirm → receipt;
or, when insurance cannot settle, a self-pay sale), refunds, day-end, receipts.
`POST /api/checkout` is the same headless sale as `medpos checkout --claim` (with `"self_pay":
true`, as `--self-pay`), for a hospital information system on the same machine.

One terminal, one counter: every write goes through `CheckoutService` under one lock (the ledger
connection is shared by the worker threads), and the counter's state lives in `Counter`.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote as urlquote

import jinja2
from fastapi import FastAPI, Form, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from terminal.checkout.counter import MED_TYPES, PAYMENT_METHODS, Counter
from terminal.checkout.operators import Operator, check_pin, sign_session
from terminal.checkout.selfpay import is_self_pay_id, new_basket_id, refund_self_pay, sell_self_pay
from terminal.checkout.service import CheckoutRefused, CheckoutService
from terminal.checkout.syncing import sync_status
from terminal.errors import (
    CheckoutError,
    InvalidInputError,
    LedgerError,
    MedposError,
    NoSchemeError,
)
from terminal.ledger import day_totals
from terminal.settlement.money import format_fen
from terminal.web import i18n
from terminal.web.export import day_csv_text
from terminal.web.receipts import parse_verify_text, receipt_for

__all__ = ["CodeFeed", "Hooks", "create_app"]

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
SESSION_COOKIE = "medpos_session"
_PIN_TRIES = 5
_PIN_LOCK_S = 300.0


class CodeFeed:
    """What the camera pipeline reports (`QrReader` events) and the last frame it looked at."""

    def __init__(self, source: str = "") -> None:
        self.source = source
        self._lock = threading.Lock()
        self._last: dict[str, Any] | None = None
        self.error: str | None = None
        self.frame: Any = None  # the last frame (numpy image) the pipeline read
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    def on_event(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._last = {**event, "at": time.time()}
        for listener in list(self.listeners):
            listener(event)

    def on_error(self, exc: Exception) -> None:
        self.error = str(exc)

    def latest(self, max_age_s: float = 600.0) -> dict[str, Any] | None:
        with self._lock:
            last = self._last
        if last is None or time.time() - last["at"] > max_age_s:
            return None
        return last


@dataclass
class Hooks:
    """What the running terminal plugs into the pages beyond the service (all optional)."""

    codes: CodeFeed | None = None
    print_receipt: Callable[[Any], str] | None = None  # Receipt → where it went; raises on error
    sync_now: Callable[[], None] | None = None
    demo_card: Callable[[str, int], str] | None = None  # ("insert" | "remove", person) → text
    demo_phone: Callable[[int], str] | None = None  # person → the code now shown
    demo_people: list[dict[str, str]] = field(default_factory=list)


def create_app(
    service: CheckoutService,
    codes: CodeFeed | None = None,
    hooks: Hooks | None = None,
    lock: threading.RLock | None = None,
) -> FastAPI:
    """The ASGI app over one terminal."""
    hooks = hooks or Hooks(codes=codes)
    if codes is not None and hooks.codes is None:
        hooks.codes = codes
    app = FastAPI(title="medpos terminal", docs_url=None, redoc_url=None)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    lock = lock or threading.RLock()
    sessions: dict[str, Operator] = {}
    pin_failures: dict[str, tuple[int, float]] = {}

    def print_txn(txn_id: str) -> tuple[str, str]:
        if hooks.print_receipt is None:
            return "", ""
        with lock:
            receipt = receipt_for(service, txn_id, i18n.current.get())
        if receipt is None:
            return "", f"no transaction {txn_id}"
        try:
            return hooks.print_receipt(receipt), ""
        except Exception as exc:  # noqa: BLE001 - a printer fault is shown, never loses the sale
            return "", str(exc)

    counter = Counter(service, lock, printer=print_txn)
    app.state.counter = counter
    if hooks.codes is not None:
        hooks.codes.listeners.append(lambda ev: _camera_code(counter, ev))

    # -- request context --------------------------------------------------------------------

    def language(request: Request) -> str:
        lang = request.cookies.get("lang") or service.config.web.language
        return lang if lang in i18n.LANGUAGES else "zh"

    def operator_of(request: Request) -> Operator | None:
        token = request.cookies.get(SESSION_COOKIE)
        return sessions.get(token) if token else None

    def explain(code: str, message: str) -> str:
        """A refusal in the page's language: the translated sentence, else the original."""
        key = f"problem:{code}"
        text = i18n.gettext_(key)
        return message if text == key else text

    def status() -> dict[str, Any]:
        with lock:
            st = sync_status(service)
            head = service.ledger.head()
        return {**st, "head": head}

    def page(request: Request, name: str, **ctx: Any) -> HTMLResponse:
        i18n.current.set(language(request))
        base = {
            "config": service.config,
            "operator": operator_of(request),
            "lang": i18n.current.get(),
            "status": status(),
            "fen": format_fen,
            "explain": explain,
            "msg": request.query_params.get("msg", ""),
            "err": request.query_params.get("err", ""),
            "demo": bool(hooks.demo_card or hooks.demo_phone),
        }
        response: HTMLResponse = TEMPLATES.TemplateResponse(request, name, {**base, **ctx})
        return response

    def need(request: Request, role: str = "cashier") -> Operator | RedirectResponse:
        op = operator_of(request)
        if op is None:
            return RedirectResponse(f"/login?next={urlquote(request.url.path)}", 303)
        if not op.may(role):
            return _back("/", err=i18n.gettext_("This needs a supervisor."))
        return op

    def approve(sup_id: str, pin: str, role: str = "supervisor") -> Operator:
        """A supervisor's approval by PIN; five wrong PINs lock that id for five minutes."""
        tries, since = pin_failures.get(sup_id, (0, 0.0))
        if tries >= _PIN_TRIES and time.monotonic() - since < _PIN_LOCK_S:
            raise CheckoutError(
                "pin_locked", "too many wrong PINs for this operator: wait five minutes"
            )
        try:
            with lock:
                op = check_pin(service, sup_id, pin, role)
        except CheckoutError as exc:
            if exc.code == "bad_pin":
                pin_failures[sup_id] = (tries + 1, time.monotonic())
                with lock:
                    service.ledger.audit(
                        "refusal", sup_id or None, {"code": "bad_pin"}, service.local_now()
                    )
            raise
        pin_failures.pop(sup_id, None)
        return op

    def counter_view(request: Request) -> dict[str, Any]:
        with lock:
            st = counter.state
            quote = st.quote
            view = {
                "st": st,
                "version": counter.version,
                "quote": quote,
                "result": quote.result if quote else None,
                "payment_methods": PAYMENT_METHODS,
                "med_types": MED_TYPES,
                "camera": _camera_view(hooks.codes),
                "self_pay_amounts": counter.self_pay_amounts(),
            }
        return view

    # -- sign-in ----------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002
        return page(request, "login.html", next=next if next.startswith("/") else "/")

    @app.post("/login")
    def login(
        request: Request,
        operator_id: str = Form(""),
        pin: str = Form(""),
        next: str = Form("/"),  # noqa: A002
    ) -> Response:
        i18n.current.set(language(request))
        try:
            op = approve(operator_id.strip(), pin, "cashier")
        except CheckoutError as exc:
            return _back("/login", err=explain(exc.code, str(exc)))
        with lock:
            sign_session(service, op.id, op.name, True)
        token = secrets.token_urlsafe(24)
        sessions[token] = op
        response = RedirectResponse(next if next.startswith("/") else "/", 303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict")
        return response

    @app.post("/logout")
    def logout(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE, "")
        op = sessions.pop(token, None)
        if op is not None:
            with lock:
                sign_session(service, op.id, op.name, False)
        response = RedirectResponse("/login", 303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/lang/{lang}")
    def set_language(request: Request, lang: str) -> Response:
        back = request.headers.get("referer") or "/"
        response = RedirectResponse(back, 303)
        if lang in i18n.LANGUAGES:
            response.set_cookie("lang", lang, samesite="strict", max_age=10 * 365 * 86400)
        return response

    # -- the counter ------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> Response:
        op = need(request)
        if not isinstance(op, Operator):
            return op
        return page(request, "counter.html", **counter_view(request))

    @app.get("/counter", response_class=HTMLResponse)
    def counter_fragment(request: Request) -> Response:
        op = need(request)
        if not isinstance(op, Operator):
            return Response(status_code=401)
        return page(request, "_counter.html", **counter_view(request))

    @app.get("/status-bar", response_class=HTMLResponse)
    def status_fragment(request: Request) -> Response:
        return page(request, "_status.html")

    def counter_action(request: Request, action: Callable[[], Any]) -> Response:
        op = need(request)
        if not isinstance(op, Operator):
            return op if request.headers.get("x-fragment") != "1" else Response(status_code=401)
        i18n.current.set(language(request))
        err = ""
        try:
            action()
        except MedposError as exc:
            err = explain(getattr(exc, "code", "error"), str(exc))
        if request.headers.get("x-fragment") == "1":
            return page(request, "_counter.html", **counter_view(request), flash=err)
        return _back("/", err=err)

    @app.post("/scan")
    def scan(request: Request, text: str = Form("")) -> Response:
        return counter_action(request, lambda: _scan(counter, text))

    @app.post("/add")
    def add(request: Request, code: str = Form(...)) -> Response:
        return counter_action(request, lambda: counter.add(code))

    @app.post("/line/{index}")
    def edit_line(
        request: Request,
        index: int,
        qty: str = Form(""),
        price: str = Form(""),
        name: str = Form(""),
        remove: str = Form(""),
    ) -> Response:
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

        return counter_action(request, act)

    @app.post("/visit")
    def visit(request: Request, med_type: str = Form(...)) -> Response:
        return counter_action(request, lambda: counter.set_med_type(med_type))

    @app.post("/void")
    def void(request: Request) -> Response:
        op = operator_of(request)
        return counter_action(request, lambda: counter.void(op.id if op else None))

    @app.post("/confirm")
    def confirm(
        request: Request,
        basket_id: str = Form(...),
        payment_method: str = Form("cash"),
        sup_id: str = Form(""),
        sup_pin: str = Form(""),
    ) -> Response:
        op = need(request)
        if not isinstance(op, Operator):
            return op

        def act() -> None:
            approved_by = None
            if sup_id or sup_pin:
                approved_by = approve(sup_id.strip(), sup_pin).id
            counter.confirm(
                basket_id, payment_method=payment_method, operator=op.id, approved_by=approved_by
            )

        return counter_action(request, act)

    @app.post("/self-pay")
    def self_pay(
        request: Request, basket_id: str = Form(...), payment_method: str = Form("cash")
    ) -> Response:
        """The basket sold without insurance (offered only when insurance cannot settle it)."""
        op = need(request)
        if not isinstance(op, Operator):
            return op
        return counter_action(
            request,
            lambda: counter.self_pay(basket_id, payment_method=payment_method, operator=op.id),
        )

    @app.post("/reprint/{txn_id}")
    def reprint(request: Request, txn_id: str) -> Response:
        def act() -> None:
            sale = counter.state.last_sale
            if sale is not None and sale.receipt_id == txn_id:
                counter.print_sale(sale)
            else:
                where, error = print_txn(txn_id)
                if error:
                    raise CheckoutError("print_failed", error)

        return counter_action(request, act)

    @app.post("/refresh-quote")
    def refresh_quote(request: Request) -> Response:
        return counter_action(request, counter.refresh_quote)

    @app.get("/search")
    def search(request: Request, q: str = "") -> Response:
        if operator_of(request) is None:
            return JSONResponse([], 401)
        return JSONResponse(counter.search(q))

    @app.get("/events")
    async def events(request: Request) -> StreamingResponse:
        """Server-sent events: `counter` with its version after every change, `ping` otherwise."""

        async def stream() -> Any:
            seen = -1
            while not await request.is_disconnected():
                version = await asyncio.to_thread(counter.wait_change, seen, 10.0)
                if version != seen:
                    seen = version
                    yield f"event: counter\ndata: {version}\n\n"
                else:
                    yield "event: ping\ndata: {}\n\n"

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    @app.get("/camera.jpg")
    def camera_jpg(request: Request) -> Response:
        if operator_of(request) is None:
            return Response(status_code=401)
        frame = hooks.codes.frame if hooks.codes is not None else None
        if frame is None:
            return Response(status_code=204)
        from drivers.qr.capture import frame_jpeg

        jpg = frame_jpeg(frame)
        if jpg is None:
            return Response(status_code=204)
        return Response(jpg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    # -- receipts ---------------------------------------------------------------------------

    @app.get("/receipt/{txn_id}", response_class=HTMLResponse)
    def receipt_page(request: Request, txn_id: str) -> Response:
        from drivers.printer import receipt_html

        op = need(request)
        if not isinstance(op, Operator):
            return op
        with lock:
            receipt = receipt_for(service, txn_id, language(request))
        if receipt is None:
            return _back("/", err=f"no transaction {txn_id}")
        return HTMLResponse(receipt_html(receipt))

    @app.get("/receipt/{txn_id}.escpos")
    def receipt_escpos(request: Request, txn_id: str) -> Response:
        from drivers.printer import escpos_bytes

        if operator_of(request) is None:
            return Response(status_code=401)
        with lock:
            receipt = receipt_for(service, txn_id, language(request))
        if receipt is None:
            return Response(status_code=404)
        return Response(escpos_bytes(receipt), media_type="application/octet-stream")

    @app.get("/verify", response_class=HTMLResponse)
    def verify_receipt(request: Request, code: str = "") -> HTMLResponse:
        """What a receipt's QR code says, checked against this terminal's ledger."""
        found = parse_verify_text(code.strip())
        outcome = "unreadable"
        if found is not None:
            with lock:
                rows = service.ledger.query(
                    "SELECT seq, hash FROM ledger WHERE txn_id = ?", (found["txn_id"],)
                )
            if found["dev_no"] != service.config.terminal.dev_no:
                outcome = "other_terminal"
            elif not rows:
                outcome = "unknown"
            elif rows[0]["seq"] == found["seq"] and rows[0]["hash"] == found["hash"]:
                outcome = "genuine"
            else:
                outcome = "mismatch"
        return page(request, "verify.html", code=code, found=found, outcome=outcome)

    # -- refunds ----------------------------------------------------------------------------

    @app.get("/refund", response_class=HTMLResponse)
    def refund_page(request: Request, q: str = "", txn_id: str = "") -> Response:
        op = need(request)
        if not isinstance(op, Operator):
            return op
        with lock:
            sales = _refundable(service, q.strip())
            self_pay_sales = _self_pay_refundable(service, q.strip())
        return page(
            request,
            "refund.html",
            sales=sales,
            self_pay_sales=self_pay_sales,
            q=q,
            chosen=txn_id,
            chosen_self_pay=is_self_pay_id(txn_id),
        )

    @app.post("/refund")
    def refund(
        request: Request,
        txn_id: str = Form(...),
        reason: str = Form(""),
        sup_id: str = Form(""),
        sup_pin: str = Form(""),
    ) -> Response:
        op = need(request)
        if not isinstance(op, Operator):
            return op
        i18n.current.set(language(request))
        back = f"/refund?txn_id={urlquote(txn_id)}"
        txn_id = txn_id.strip()
        try:
            supervisor = approve(sup_id.strip(), sup_pin)
            with lock:
                if is_self_pay_id(txn_id):  # a self-pay sale (no insurance): `<dev_no>-S<n>`
                    refund_id = refund_self_pay(
                        service, txn_id, reason=reason, operator=supervisor.id
                    ).self_pay_id
                else:
                    refund_id = service.refund(txn_id, reason=reason, operator=supervisor.id).txn_id
        except CheckoutError as exc:
            return _back(back, err=explain(exc.code, str(exc)))
        except LedgerError as exc:
            return _back(back, err=str(exc))
        where, error = print_txn(refund_id)
        msg = i18n.gettext_("Refund %(r)s of %(t)s committed.") % {"r": refund_id, "t": txn_id}
        if error:
            return _back(f"/refund?txn_id={urlquote(txn_id)}", msg=msg, err=error)
        return _back("/refund", msg=msg)

    # -- day-end ----------------------------------------------------------------------------

    def parse_day(text: str) -> date:
        try:
            return date.fromisoformat(text) if text else service.local_now().date()
        except ValueError:
            raise CheckoutError("bad_date", "a date is written YYYY-MM-DD") from None

    @app.get("/day", response_class=HTMLResponse)
    def day_page(request: Request, d: str = "") -> Response:
        op = need(request)
        if not isinstance(op, Operator):
            return op
        try:
            day = parse_day(d)
        except CheckoutError as exc:
            return _back("/day", err=str(exc))
        with lock:
            figures = _day_figures(service, day)
        return page(
            request,
            "day.html",
            day=day,
            reconciliation=app.state.reconciliations.get(day.isoformat()),
            **figures,
        )

    app.state.reconciliations = {}

    @app.post("/day/close")
    def day_close(
        request: Request, d: str = Form(""), sup_id: str = Form(""), sup_pin: str = Form("")
    ) -> Response:
        op = need(request)
        if not isinstance(op, Operator):
            return op
        i18n.current.set(language(request))
        try:
            day = parse_day(d)
            supervisor = approve(sup_id.strip(), sup_pin)
            with lock:
                closure = service.close_day(day, supervisor.id)
        except CheckoutError as exc:
            return _back(f"/day?d={d}", err=explain(exc.code, str(exc)))
        except LedgerError as exc:
            return _back(f"/day?d={d}", err=str(exc))
        return _back(
            f"/day?d={day.isoformat()}",
            msg=i18n.gettext_("Day %(d)s closed and signed.") % {"d": closure["setl_date"]},
        )

    @app.post("/day/reconcile")
    def day_reconcile(request: Request, d: str = Form("")) -> Response:
        op = need(request)
        if not isinstance(op, Operator):
            return op
        i18n.current.set(language(request))
        try:
            day = parse_day(d)
        except CheckoutError as exc:
            return _back("/day", err=str(exc))
        platform: Any = service.platform
        if platform is None:
            return _back(
                f"/day?d={day.isoformat()}",
                err=i18n.gettext_("This terminal is not enrolled with a platform."),
            )
        try:
            if hooks.sync_now is not None:
                hooks.sync_now()
            with lock:
                app.state.reconciliations[day.isoformat()] = platform.reconcile(day)
        except MedposError as exc:
            return _back(f"/day?d={day.isoformat()}", err=str(exc))
        return _back(f"/day?d={day.isoformat()}")

    @app.get("/day.csv")
    def day_csv(request: Request, d: str = "") -> Response:
        if operator_of(request) is None:
            return Response(status_code=401)
        try:
            day = parse_day(d)
        except CheckoutError as exc:
            return PlainTextResponse(str(exc), 400)
        with lock:
            text = day_csv_text(_day_rows(service, day), _self_pay_day_rows(service, day))
        name = f"medpos-{service.config.terminal.dev_no}-{day.isoformat()}.csv"
        return Response(
            "\ufeff" + text,  # a BOM, so that spreadsheet programs read UTF-8
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    # -- sync -------------------------------------------------------------------------------

    @app.post("/sync-now")
    def sync_now(request: Request) -> Response:
        i18n.current.set(language(request))
        if hooks.sync_now is None:
            return _back(
                request.headers.get("referer", "/"),
                err=i18n.gettext_("This terminal is not enrolled with a platform."),
            )
        hooks.sync_now()
        counter.refresh_quote()
        if request.headers.get("x-fragment") == "1":
            return page(request, "_status.html")
        return RedirectResponse(request.headers.get("referer") or "/", 303)

    @app.get("/api/status")
    def api_status() -> dict[str, Any]:
        st = status()
        return {
            "dev_no": service.config.terminal.dev_no,
            "head_seq": st["head"][0],
            "outbox": st["queue"],
            "oldest_unsynced": st["oldest_unsynced"],
            "online": st["online"],
            "last_sync_at": st["last_sync_at"],
            "parked": len(st["parked"]),
            "alert": st["alert"],
            "counter": counter.version,
        }

    @app.post("/api/checkout")
    async def api_checkout(request: Request) -> JSONResponse:
        try:
            claim = await request.json()
        except ValueError:
            return JSONResponse({"error": "bad_json", "message": "the body is not JSON"}, 400)
        code, body = await asyncio.to_thread(_sell, claim)
        return JSONResponse(body, code)

    def _sell(claim: Any) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of one headless sale."""
        if isinstance(claim, dict):
            flag = claim.get("self_pay", False)
            if not isinstance(flag, bool):
                problem = f"request.self_pay: {flag!r} is not true or false"
                return 422, {"error": "invalid_input", "message": problem}
            if flag:
                return _sell_self_pay(claim)
            if "basket_id" in claim:
                problem = 'request.basket_id: a basket id is for a self-pay sale ("self_pay": true)'
                return 422, {"error": "invalid_input", "message": problem}
        try:
            with lock:
                outcome = service.sell_claim(claim, source="request")
        except InvalidInputError as exc:
            return 422, {"error": "invalid_input", "message": str(exc)}
        except NoSchemeError as exc:
            return 422, {"error": "no_scheme", "message": str(exc)}
        except CheckoutRefused as exc:
            return 409, exc.refusal.as_json()
        except CheckoutError as exc:
            return 409, {"error": exc.code, "message": str(exc)}
        except LedgerError as exc:
            return 503, {"error": "ledger_error", "message": str(exc)}
        return 200, outcome.line()

    def _sell_self_pay(claim: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of `{"self_pay": true, "basket": [...], "payment_method"?,
        "basket_id"?}`: the basket sold without insurance, as `medpos checkout --self-pay` (a
        person in the body is not used); bad input is 422 naming the field, nothing written."""
        try:
            with lock:
                outcome = sell_self_pay(
                    service,
                    claim.get("basket", []),  # checked by the pricing: a non-empty list
                    basket_id=claim.get("basket_id", new_basket_id()),
                    payment_method=claim.get("payment_method", "cash"),
                    reason="requested",
                    source="request",
                )
        except CheckoutError as exc:
            return 422, {"error": exc.code, "message": str(exc)}
        except LedgerError as exc:
            return 503, {"error": "ledger_error", "message": str(exc)}
        return 200, outcome.line()

    # -- demo hardware (embedded default only) ----------------------------------------------

    @app.post("/demo/card")
    def demo_card(request: Request, action: str = Form(...), person: int = Form(0)) -> Response:
        if hooks.demo_card is None:
            return Response(status_code=404)
        hooks.demo_card(action, person)
        return _back(request.headers.get("referer") or "/")

    @app.post("/demo/phone")
    def demo_phone(request: Request, person: int = Form(0)) -> Response:
        if hooks.demo_phone is None:
            return Response(status_code=404)
        hooks.demo_phone(person)
        return _back(request.headers.get("referer") or "/")

    @app.get("/api/demo/people")
    def demo_people_list() -> list[dict[str, str]]:
        return hooks.demo_people

    return app


# -- helpers -------------------------------------------------------------------------------


def _scan(counter: Counter, text: str) -> None:
    text = text.strip()
    st = counter.state
    if st.choices and text.isdigit() and 1 <= int(text) <= len(st.choices):
        counter.add(st.choices[int(text) - 1]["code"])  # a number picks a search result
        return
    counter.scan(text)


def _camera_code(counter: Counter, event: dict[str, Any]) -> None:
    """A code the camera read: an e-card names the customer (see `Counter.camera_ecard`);
    anything else is ignored here."""
    text = event.get("text")
    if not isinstance(text, str) or not text.startswith("ESC1:"):
        return
    if text == counter.camera_text:
        return  # the same code still held up to the camera (after its de-duplication window)
    counter.camera_text = text
    try:
        counter.camera_ecard(text)
    except MedposError as exc:
        counter.identify_failed(getattr(exc, "code", "error"), str(exc))


def _camera_view(codes: CodeFeed | None) -> dict[str, Any] | None:
    if codes is None:
        return None
    last = codes.latest(30.0)
    return {
        "source": codes.source,
        "error": codes.error,
        "latency_ms": last.get("latency_ms") if last else None,
        "seen": last is not None,
    }


def _back(path: str, msg: str = "", err: str = "") -> RedirectResponse:
    from urllib.parse import urlencode, urlsplit

    query = urlencode({k: v for k, v in (("msg", msg), ("err", err)) if v})
    split = urlsplit(path)
    base = split.path or "/"
    keep = split.query
    joined = "&".join(q for q in (keep, query) if q)
    return RedirectResponse(f"{base}?{joined}" if joined else base, status_code=303)


_ROWS = (
    "SELECT t.seq, t.txn_id, t.kind, t.settled_at, t.offline, t.operator, t.payment_method, "
    "COALESCE(t.psn_name, o.psn_name) AS psn_name, COALESCE(t.psn_cert, o.psn_cert) AS psn_cert, "
    "t.orig_txn_id, "
    "COALESCE(t.medfee_sumamt, -o.medfee_sumamt) AS medfee, "
    "COALESCE(t.fund_pay_sumamt, -o.fund_pay_sumamt) AS fund, "
    "COALESCE(t.acct_pay, -o.acct_pay) AS acct, "
    "COALESCE(t.psn_cash_pay, -o.psn_cash_pay) AS cash, "
    "a.status AS ack, (q.txn_id IS NOT NULL) AS queued, "
    "(SELECT r.txn_id FROM txns r WHERE r.orig_txn_id = t.txn_id) AS refunded_by "
    "FROM txns t LEFT JOIN txns o ON o.txn_id = t.orig_txn_id "
    "LEFT JOIN acks a ON a.txn_id = t.txn_id LEFT JOIN outbox q ON q.txn_id = t.txn_id "
)


def _day_rows(service: CheckoutService, day: date) -> list[Any]:
    return service.ledger.query(_ROWS + "WHERE t.setl_date = ? ORDER BY t.seq", (day.isoformat(),))


def _refundable(service: CheckoutService, q: str) -> list[Any]:
    """Recent sales, newest first, matching `q` (transaction id, name or ID number tail)."""
    where = "WHERE t.kind = 'sale'"
    params: tuple[Any, ...] = ()
    if q:
        where += " AND (t.txn_id LIKE ? OR t.psn_name LIKE ? OR t.psn_cert LIKE ?)"
        params = (f"%{q}%", f"%{q}%", f"%{q}")
    return service.ledger.query(_ROWS + where + " ORDER BY t.seq DESC LIMIT 30", params)


_SELF_PAY_ROWS = (
    "SELECT s.id, s.self_pay_id, s.settled_at, s.operator, s.payment_method, s.total, s.orig_id, "
    "o.self_pay_id AS orig_self_pay_id, "
    "(SELECT r.self_pay_id FROM self_pay_sales r WHERE r.orig_id = s.id) AS refunded_by "
    "FROM self_pay_sales s LEFT JOIN self_pay_sales o ON o.id = s.orig_id "
)


def _self_pay_day_rows(service: CheckoutService, day: date) -> list[Any]:
    """The day's self-pay sales and refunds, in the order they were made."""
    return service.ledger.query(
        _SELF_PAY_ROWS + "WHERE s.setl_date = ? ORDER BY s.id", (day.isoformat(),)
    )


def _self_pay_refundable(service: CheckoutService, q: str) -> list[Any]:
    """Recent self-pay sales (not refunds), newest first, whose id contains `q`."""
    where = "WHERE s.orig_id IS NULL"
    params: tuple[Any, ...] = ()
    if q:
        where += " AND s.self_pay_id LIKE ?"
        params = (f"%{q}%",)
    return service.ledger.query(_SELF_PAY_ROWS + where + " ORDER BY s.id DESC LIMIT 30", params)


def _day_figures(service: CheckoutService, day: date) -> dict[str, Any]:
    rows = _day_rows(service, day)
    hours: dict[int, dict[str, int]] = {}
    for r in rows:
        hour = int(r["settled_at"][11:13])
        h = hours.setdefault(hour, {"fund": 0, "acct": 0, "cash": 0, "count": 0})
        h["fund"] += r["fund"]
        h["acct"] += r["acct"]
        h["cash"] += r["cash"]
        h["count"] += 1 if r["kind"] == "sale" else 0
    closure = service.ledger.query("SELECT * FROM closures WHERE setl_date = ?", (day.isoformat(),))
    return {
        "rows": rows,
        "totals": day_totals(service.ledger, day),
        "closure": dict(closure[0]) if closure else None,
        "chart": _chart(hours),
    }


def _chart(hours: dict[int, dict[str, int]]) -> dict[str, Any]:
    """Stacked bars per hour (fund, account, cash) as SVG rectangles; no script needed."""
    if not hours:
        return {"bars": [], "max": 0}
    first, last = min(hours), max(hours)
    span = range(min(first, 8), max(last, 18) + 1)
    top = max(max(h["fund"], 0) + max(h["acct"], 0) + max(h["cash"], 0) for h in hours.values())
    top = max(top, 1)
    width, height, gap = 600, 160, 4
    step = width / len(span)
    bars = []
    for i, hour in enumerate(span):
        h = hours.get(hour, {"fund": 0, "acct": 0, "cash": 0, "count": 0})
        y = float(height)
        parts = []
        for key in ("fund", "acct", "cash"):
            value = max(h[key], 0)
            size = height * value / top
            y -= size
            parts.append({"key": key, "y": round(y, 1), "h": round(size, 1), "value": h[key]})
        bars.append(
            {
                "hour": hour,
                "x": round(i * step + gap / 2, 1),
                "w": round(step - gap, 1),
                "parts": parts,
                "count": h["count"],
            }
        )
    return {"bars": bars, "max": top, "width": width, "height": height}
