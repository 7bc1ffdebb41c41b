"""The console's pages (docs/operations.md "Fleet console"): parse, ask `queries`, render.

Every handler is a plain `def` (FastAPI runs it in the thread pool: the database is not async).
A page for a signed-out browser redirects to the sign-in form; a POST is checked for its origin
and CSRF token before anything else.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sync.hub.console import queries as q
from sync.hub.console.chart import STATUSES, day_bars
from sync.hub.console.preview import preview
from sync.hub.console.web import SESSION_COOKIE, Console, Refused, Session
from sync.hub.errors import HubError
from sync.hub.operators import verify_operator
from sync.hub.reference import check_document

__all__ = ["console_router"]

DAYS_SHOWN = 14
PUBLISH_KINDS = ("policy", "catalogue", "trustlist", "hotlist", "persons")


def _signed_in(request: Request) -> Session:
    """The operator's session; a signed-out browser is sent to the sign-in form."""
    session = request.app.state.console.session(request)
    if session is None:
        raise Refused(303, "/console/login")
    return session  # type: ignore[no-any-return]


async def _checked_form(request: Request) -> Any:
    """The form of a POST that comes from this site with this browser's token."""
    console: Console = request.app.state.console
    form = await request.form()
    console.check_post(request, form, console.session(request))
    return form


Operator = Annotated[Session, Depends(_signed_in)]
Checked = Annotated[Any, Depends(_checked_form)]


def console_router(console: Console) -> APIRouter:
    router = APIRouter(prefix="/console")

    def at(epoch: int | None) -> str:
        if epoch is None:
            return ""
        return datetime.fromtimestamp(epoch, console.hub.tz).strftime("%Y-%m-%d %H:%M")

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        return console.page(request, "login.html", None, failed=False)

    @router.post("/login")
    def login(
        request: Request,
        form: Checked,
        operator: Annotated[str, Form()],
        password: Annotated[str, Form()],
    ) -> Response:
        if not verify_operator(console.hub.engine, operator, password):
            return console.page(request, "login.html", None, 401, failed=True)
        response = RedirectResponse("/console", 303)
        console.set_cookie(request, response, SESSION_COOKIE, console.new_session(operator))
        return response

    @router.post("/logout")
    def logout(request: Request, form: Checked, session: Operator) -> Response:
        response = RedirectResponse("/console/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/console")
        return response

    @router.get("/lang")
    def language(request: Request, to: str = "zh") -> Response:
        response = RedirectResponse("/console", 303)
        console.set_cookie(request, response, "lang", to if to in ("zh", "en") else "zh")
        return response

    @router.get("", response_class=HTMLResponse)
    def fleet(
        request: Request, session: Operator, after: str = "", alert: str | None = None
    ) -> Response:
        limits = console.limits()
        with console.hub.engine.connect() as conn:
            counts = q.alert_counts(conn, limits)
            rows = q.terminals(conn, limits, after=after, alert=alert)
        for row in rows:
            row["enrolled"] = at(row["enrolled_at"])[:10]
            row["heartbeat"] = at(row["received_at"])
        return console.page(
            request,
            "terminals.html",
            session,
            counts=counts,
            rows=rows,
            alert=alert if alert in q.ALERTS else None,
            alerts=q.ALERTS,
            next_after=rows[-1]["dev_no"] if len(rows) == q.PAGE else None,
        )

    @router.get("/days", response_class=HTMLResponse)
    def days(request: Request, session: Operator, after: str = "") -> Response:
        today = datetime.fromtimestamp(console.hub.clock(), console.hub.tz).date()
        since = (today - timedelta(days=DAYS_SHOWN - 1)).isoformat()
        with console.hub.engine.connect() as conn:
            rows = q.daily_counts(conn, since, after=after)
            totals = q.daily_totals(conn, since)
        last = rows[-1] if len(rows) == q.PAGE else None
        return console.page(
            request,
            "days.html",
            session,
            rows=rows,
            statuses=STATUSES,
            chart=day_bars(_every_day(totals, since, DAYS_SHOWN)),
            money=_money,
            next_after=f"{last['setl_date']}|{last['fixmedins_code']}" if last else None,
        )

    @router.get("/entries", response_class=HTMLResponse)
    def entries(
        request: Request, session: Operator, status: str = "rejected", before: int | None = None
    ) -> Response:
        status = status if status in ("rejected", "held") else "rejected"
        with console.hub.engine.connect() as conn:
            rows = q.held_and_rejected(conn, status, before=before)
        for row in rows:
            row["stored"] = at(row["stored_at"])
        return console.page(
            request,
            "entries.html",
            session,
            rows=rows,
            status=status,
            next_before=rows[-1]["stored_at"] if len(rows) == q.PAGE else None,
        )

    @router.get("/conflicts", response_class=HTMLResponse)
    def trace_conflicts(
        request: Request,
        session: Operator,
        day: str = "",
        before: str = "",
        after: str = "",
    ) -> Response:
        if day:
            try:
                day = date.fromisoformat(day).isoformat()
            except ValueError:
                raise Refused(400, f"day {day!r}: give yyyy-mm-dd") from None
        with console.hub.engine.connect() as conn:
            rows = (
                q.conflicts(conn, day, after=after) if day else q.conflict_days(conn, before=before)
            )
        more = None  # the next page's query, when this one is full
        if len(rows) == q.PAGE:
            last = rows[-1]
            key = quote(f"{last['code']}|{last['second_txn_id']}") if day else ""
            more = f"day={day}&after={key}" if day else f"before={last['setl_date']}"
        return console.page(request, "conflicts.html", session, day=day, rows=rows, more=more)

    @router.get("/persons", response_class=HTMLResponse)
    def persons(request: Request, session: Operator, after: str = "") -> Response:
        with console.hub.engine.connect() as conn:
            rows = q.unregistered_persons(conn, after=after)
        next_after = rows[-1]["psn_cert"] if len(rows) == q.PAGE else None
        return console.page(request, "persons.html", session, rows=rows, next_after=next_after)

    @router.get("/codes", response_class=HTMLResponse)
    def codes(request: Request, session: Operator, made: str = "") -> Response:
        with console.hub.engine.connect() as conn:
            rows = q.enrol_codes(conn, console.hub.clock())
        for row in rows:
            row["expires"] = at(row["expires_at"])
        return console.page(request, "codes.html", session, rows=rows, made=made)

    @router.post("/codes")
    def make_code(
        request: Request,
        form: Checked,
        session: Operator,
        dev_no: Annotated[str, Form(min_length=1, max_length=64)],
        fixmedins_code: Annotated[str, Form(min_length=1, max_length=32)],
        fixmedins_name: Annotated[str, Form(min_length=1, max_length=200)],
        admvs: Annotated[str, Form(pattern=r"^\d{6}$")],
    ) -> Response:
        code = console.hub.enrol_code(
            dev_no.strip(),
            fixmedins_code=fixmedins_code.strip(),
            fixmedins_name=fixmedins_name.strip(),
            mdtrtarea_admvs=admvs,
        )
        return RedirectResponse(f"/console/codes?made={code}", 303)

    @router.get("/publish", response_class=HTMLResponse)
    def publish_form(request: Request, session: Operator) -> Response:
        return console.page(request, "publish.html", session, kinds=PUBLISH_KINDS)

    @router.post("/publish/preview", response_class=HTMLResponse)
    def publish_preview(
        request: Request,
        form: Checked,
        session: Operator,
        kind: Annotated[str, Form()],
        file: Annotated[UploadFile, File()],
    ) -> Response:
        raw = file.file.read()
        try:
            document = _document(kind, raw)
            check_document(kind, document)
        except (HubError, ValueError) as exc:
            return console.page(
                request, "publish.html", session, 422, kinds=PUBLISH_KINDS, problem=str(exc)
            )
        with console.hub.engine.connect() as conn:
            held = q.newest_document(conn, kind)
        old = held[1] if held is not None else None
        if kind in ("trustlist", "hotlist") and old is not None:  # numbered at publishing
            old = {k: v for k, v in old.items() if k not in ("version", "issued_at")}
            document = {k: v for k, v in document.items() if k not in ("version", "issued_at")}
        encoded = base64.b64encode(raw).decode()
        return console.page(
            request,
            "preview.html",
            session,
            kind=kind,
            version=held[0] if held else None,
            change=preview(kind, old, document),
            document=encoded,
            mac=console.sign(f"{kind}:{encoded}"),
        )

    @router.post("/publish", response_class=HTMLResponse)
    def publish(
        request: Request,
        form: Checked,
        session: Operator,
        kind: Annotated[str, Form()],
        document: Annotated[str, Form()],
        mac: Annotated[str, Form()],
    ) -> Response:
        if not hmac.compare_digest(mac, console.sign(f"{kind}:{document}")):
            raise Refused(400, "Stale or tampered preview: upload the file again.")
        try:
            obj = console.hub.publish(kind, _document(kind, base64.b64decode(document)))
        except (HubError, ValueError, binascii.Error) as exc:
            return console.page(
                request, "publish.html", session, 422, kinds=PUBLISH_KINDS, problem=str(exc)
            )
        return console.page(
            request, "publish.html", session, kinds=PUBLISH_KINDS, published=obj["version"]
        )

    return router


def _document(kind: str, raw: bytes) -> Any:
    """The uploaded file as `publish` takes it: the policy's TOML text, else parsed JSON."""
    text = raw.decode("utf-8")
    if kind == "policy":
        return text
    return json.loads(text)


def _every_day(totals: list[dict[str, Any]], since: str, days: int) -> list[dict[str, Any]]:
    """`totals` with a zero entry for each day from `since` that had none (the chart's axis)."""
    held = {d["day"]: d for d in totals}
    first = datetime.fromisoformat(since).date()
    out = []
    for n in range(days):
        day = (first + timedelta(days=n)).isoformat()
        out.append(held.get(day, {"day": day}))
    return out


def _money(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
