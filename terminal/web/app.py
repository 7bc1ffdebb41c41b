"""The terminal's web front: a status page and the headless sale over HTTP.

Server-rendered (FastAPI + Jinja2, no build step). This is the terminal core's own page: what the
ledger holds, today's totals, a demo sale, refunds, the day closure and the ledger check; and
`POST /api/checkout`, the same headless sale as `medpos checkout --claim`, for a hospital system.
Every write goes through `CheckoutService`, one ledger unit of work per request.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from terminal.checkout.service import CheckoutRefused, CheckoutService
from terminal.checkout.syncing import sync_status
from terminal.errors import (
    CheckoutError,
    IdentityError,
    InvalidInputError,
    LedgerError,
    NoSchemeError,
)
from terminal.ledger import day_totals, report_text, verify_ledger
from terminal.settlement.money import format_fen

__all__ = ["CodeFeed", "create_app"]

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
_SEEN_LIMIT = 1000


class CodeFeed:
    """The last code the camera pipeline reported (`QrReader` events), read by the page."""

    def __init__(self, source: str = "") -> None:
        self.source = source
        self._lock = threading.Lock()
        self._last: dict[str, Any] | None = None
        self.error: str | None = None

    def on_event(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._last = {**event, "at": time.time()}

    def on_error(self, exc: Exception) -> None:
        self.error = str(exc)

    def latest(self, max_age_s: float = 600.0) -> dict[str, Any] | None:
        with self._lock:
            last = self._last
        if last is None or time.time() - last["at"] > max_age_s:
            return None
        return last


def create_app(service: CheckoutService, codes: CodeFeed | None = None) -> FastAPI:
    """The ASGI app over one terminal; requests are served one at a time against the ledger.

    `codes` is the camera's feed of e-card codes (none: the page takes scanned text only)."""
    app = FastAPI(title="medpos terminal", docs_url=None, redoc_url=None)
    lock = threading.Lock()  # one writer: the ledger connection is shared by the worker thread
    done: OrderedDict[str, dict[str, Any]] = OrderedDict()  # form token → outcome (no double sale)

    def status() -> dict[str, Any]:
        ledger = service.ledger
        today = service.local_now().date()
        outbox = ledger.query("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox")[0]
        recent = ledger.query(
            "SELECT t.txn_id, t.kind, t.settled_at, t.psn_name, t.psn_cert, t.orig_txn_id, "
            "COALESCE(t.medfee_sumamt, -o.medfee_sumamt) AS medfee, "
            "COALESCE(t.fund_pay_sumamt, -o.fund_pay_sumamt) AS fund, "
            "COALESCE(t.acct_pay, -o.acct_pay) AS acct, "
            "COALESCE(t.psn_cash_pay, -o.psn_cash_pay) AS cash "
            "FROM txns t LEFT JOIN txns o ON o.txn_id = t.orig_txn_id ORDER BY t.seq DESC LIMIT 12"
        )
        totals = day_totals(ledger, today)
        return {
            "config": service.config,
            "today": today.isoformat(),
            "head": ledger.head(),
            "outbox": outbox["n"],
            "oldest": outbox["oldest"],
            "recent": [dict(r) for r in recent],
            "totals": totals,
            "fen": format_fen,
            "persons": ledger.query("SELECT psn_cert, name FROM persons ORDER BY name"),
            "camera": _camera_view(),
            "sync": sync_status(service),
        }

    def _camera_view() -> dict[str, Any] | None:
        """What the camera sees now: the last code, and who it identifies (nothing recorded)."""
        if codes is None:
            return None
        view: dict[str, Any] = {"source": codes.source, "error": codes.error}
        last = codes.latest()
        if last is not None and "text" in last:
            view["latency_ms"] = last["latency_ms"]
            try:
                verified = service.verify_ecard(last["text"])
                view["name"] = verified.ecard["name"]
                view["psn_cert"] = _mask(verified.ecard["psn_cert"])
                view["insutype"] = verified.ecard["insutype"]
            except IdentityError as exc:
                view["refusal"] = str(exc)
        return view

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request, msg: str = "", err: str = "") -> HTMLResponse:
        with lock:
            ctx = status()
        return TEMPLATES.TemplateResponse(
            request, "index.html", {**ctx, "msg": msg, "err": err, "token": uuid.uuid4().hex}
        )

    @app.get("/api/status")
    def api_status() -> dict[str, Any]:
        with lock:
            ctx = status()
        return {
            "dev_no": service.config.terminal.dev_no,
            "head_seq": ctx["head"][0],
            "outbox": ctx["outbox"],
            "oldest_unsynced": ctx["oldest"],
            "online": ctx["sync"]["online"],
            "last_sync_at": ctx["sync"]["last_sync_at"],
            "parked": len(ctx["sync"]["parked"]),
            "alert": ctx["sync"]["alert"],
        }

    @app.post("/api/checkout")
    async def api_checkout(request: Request) -> JSONResponse:
        try:
            claim = await request.json()
        except ValueError:
            return JSONResponse({"error": "bad_json", "message": "the body is not JSON"}, 400)
        with lock:
            code, body = _sell(claim)
        return JSONResponse(body, code)

    def _sell(claim: Any) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of one headless sale."""
        try:
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

    @app.post("/sale")
    def demo_sale(
        token: str = Form(...), psn_cert: str = Form(...), kind: str = Form(...)
    ) -> RedirectResponse:
        from terminal.demo import demo_basket

        with lock:
            outcome = done.get(token)
            if outcome is None:  # a double click or a reload finds the first sale instead
                try:
                    _, outcome = _sell(_claim_for(service, psn_cert, kind, demo_basket(kind)))
                except CheckoutError as exc:
                    outcome = {"error": exc.code, "message": str(exc)}
                done[token] = outcome
                while len(done) > _SEEN_LIMIT:
                    done.popitem(last=False)
        return _outcome_page("sale", outcome)

    @app.post("/card-sale")
    def card_sale(token: str = Form(...), kind: str = Form("pharmacy")) -> RedirectResponse:
        from drivers.card.errors import CardError
        from terminal.demo import demo_basket
        from terminal.identity.card import CARD_MESSAGES, identity_from_card, read_card_data

        with lock:
            outcome = done.get(token)
            if outcome is None:
                config = service.config
                try:
                    read = read_card_data(config.card.reader, config.card.sam or None)
                    identity = identity_from_card(
                        read, service.hotlist(), service.local_now().date()
                    )
                    sale = service.sell(identity, demo_basket(kind), source="demo basket")
                    outcome = sale.line()
                except CardError as exc:
                    outcome = {
                        "error": exc.reason,
                        "message": CARD_MESSAGES.get(exc.reason, str(exc)),
                    }
                except (IdentityError, CheckoutError) as exc:
                    outcome = {"error": exc.code, "message": str(exc)}
                except LedgerError as exc:
                    outcome = {"error": "ledger_error", "message": str(exc)}
                done[token] = outcome
        return _outcome_page("card sale", outcome)

    @app.post("/ecard-sale")
    def ecard_sale(
        token: str = Form(...), text: str = Form(""), kind: str = Form("pharmacy")
    ) -> RedirectResponse:
        """A sale by e-card: the scanned text, or else the code the camera saw last."""
        from terminal.demo import demo_basket

        with lock:
            outcome = done.get(token)
            if outcome is None:
                code = text.strip()
                if not code and codes is not None:
                    last = codes.latest()
                    code = last.get("text", "") if last else ""
                try:
                    if not code:
                        raise IdentityError(
                            "no_code",
                            "no e-card code yet: scan the customer's code, or hold "
                            "the phone to the camera",
                        )
                    identity = service.verify_ecard(code).identity()
                    outcome = service.sell(identity, demo_basket(kind), source="demo basket").line()
                except (IdentityError, CheckoutError) as exc:
                    outcome = {"error": exc.code, "message": str(exc)}
                except LedgerError as exc:
                    outcome = {"error": "ledger_error", "message": str(exc)}
                done[token] = outcome
        return _outcome_page("e-card sale", outcome)

    @app.post("/refund")
    def refund(
        txn_id: str = Form(...), reason: str = Form(...), operator: str = Form(...)
    ) -> RedirectResponse:
        with lock:
            try:
                appended = service.refund(txn_id.strip(), reason=reason, operator=operator)
            except CheckoutError as exc:
                return _back(err=str(exc))
        return _back(msg=f"refund {appended.txn_id} of {txn_id} committed")

    @app.post("/day-close")
    def day_close(operator: str = Form("")) -> RedirectResponse:
        with lock:
            try:
                closure = service.close_day(None, operator or None)
            except LedgerError as exc:
                return _back(err=str(exc))
        return _back(
            msg=f"day {closure['setl_date']} closed: {closure['sale_count']} sales, "
            f"{closure['reversal_count']} refunds, hash {closure['hash'][:16]}…"
        )

    @app.post("/verify")
    def verify() -> RedirectResponse:
        with lock:
            report = verify_ledger(service.ledger)
        return _back(msg=report_text(report)) if report.ok else _back(err=report_text(report))

    return app


def _outcome_page(what: str, outcome: dict[str, Any]) -> RedirectResponse:
    """Back to the page, saying how the sale ended (its split, or why it was refused)."""
    if "error" in outcome:
        return _back(err=outcome["message"])
    split = outcome["setlinfo"]
    return _back(
        msg=f"{what} {outcome['txn_id']} committed: fund {split['fund_pay_sumamt']}, "
        f"account {split['acct_pay']}, cash {split['psn_cash_pay']}"
    )


def _back(msg: str = "", err: str = "") -> RedirectResponse:
    from urllib.parse import urlencode

    query = urlencode({k: v for k, v in (("msg", msg), ("err", err)) if v})
    return RedirectResponse(f"/?{query}" if query else "/", status_code=303)


def _claim_for(
    service: CheckoutService, psn_cert: str, kind: str, basket: list[dict[str, str]]
) -> dict[str, Any]:
    cached = service.ledger.get_person(psn_cert)
    if cached is None:
        raise CheckoutError("unknown_person", "this person is not in the terminal's person list")
    med_type, level = {
        "pharmacy": ("41", service.config.terminal.inst_level),
        "outpatient": ("11", "2"),
        "inpatient": ("21", "3"),
    }[kind]
    return {
        "person": cached["person"],
        "visit": {"med_type": med_type, "inst_level": level},
        "basket": service.price_basket(basket),
    }


def _mask(psn_cert: str) -> str:
    return f"{psn_cert[:6]}********{psn_cert[-4:]}"
