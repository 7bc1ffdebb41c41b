"""Day-end (docs/ui.md "Refunds, day-end, status"): the day's transactions, totals and hourly
chart, closing the day with a supervisor's PIN, reconciling with the platform, the CSV export."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from terminal.checkout.service import CheckoutService
from terminal.errors import CheckoutError, LedgerError, MedposError
from terminal.ledger import day_report, day_rows, self_pay_day_rows
from terminal.ledger.closures import pending_closure
from terminal.web import i18n
from terminal.web.chart import hourly_totals, stacked_bars
from terminal.web.deps import PageUser, SupervisorData, SupervisorPage, WebOf
from terminal.web.errors import back, problem_text
from terminal.web.export import day_csv_text

__all__ = ["day_figures", "router"]

router = APIRouter()


def day_figures(service: CheckoutService, day: date) -> dict[str, Any]:
    """What the day-end page shows of `day`: its rows, totals, closure and chart; the totals of a
    closed day are its closure's and what came after it is the next period, as `medpos report
    day` says (`terminal/ledger/dayreport.py`)."""
    rows = day_rows(service.ledger, day)
    report = day_report(service.ledger, day, service.config.till.opening_float)
    return {
        "rows": rows,
        "totals": report["figures"],
        "closure": report["closure"],
        "next_period": report["next_period"],
        "chart": stacked_bars(hourly_totals(rows)),
    }


@router.get("/day", response_class=HTMLResponse)
def day_page(
    request: Request, web: WebOf, op: SupervisorPage, d: str = "", x: str = ""
) -> Response:
    """The day; with `x`, also the X report: what the closure would hold now (written nowhere,
    as `medpos report x`)."""
    try:
        day = web.parse_day(d)
    except CheckoutError as exc:
        return back("/day", err=str(exc))
    service = web.service
    with web.lock:
        figures = day_figures(service, day)
        now = service.local_now()
        till = service.config.till.opening_float
        x_report = pending_closure(service.ledger, day, at=now, opening_float=till) if x else None
    return web.page(
        request,
        "day.html",
        day=day,
        reconciliation=web.reconciliations.get(day.isoformat()),
        x_report=x_report,
        **figures,
    )


@router.post("/day/close")
def day_close(
    request: Request,
    web: WebOf,
    op: PageUser,
    d: str = Form(""),
    sup_id: str = Form(""),
    sup_pin: str = Form(""),
) -> Response:
    web.use_language(request)
    try:
        day = web.parse_day(d)
        supervisor = web.approve(sup_id.strip(), sup_pin)
        with web.lock:
            closure = web.service.close_day(day, supervisor.id)
    except (CheckoutError, LedgerError) as exc:
        return back(f"/day?d={d}", err=problem_text(exc))
    return back(
        f"/day?d={day.isoformat()}",
        msg=i18n.gettext_("Day %(d)s closed and signed.") % {"d": closure["setl_date"]},
    )


@router.post("/day/reconcile")
def day_reconcile(request: Request, web: WebOf, op: SupervisorPage, d: str = Form("")) -> Response:
    web.use_language(request)
    try:
        day = web.parse_day(d)
    except CheckoutError as exc:
        return back("/day", err=str(exc))
    here = f"/day?d={day.isoformat()}"
    platform = web.hooks.platform
    if platform is None:
        return back(here, err=i18n.gettext_("This terminal is not enrolled with a platform."))
    try:
        if web.hooks.sync_now is not None:
            web.hooks.sync_now()
        with web.lock:
            web.reconciliations[day.isoformat()] = platform.reconcile(day)
    except MedposError as exc:
        return back(here, err=str(exc))
    return back(here)


@router.get("/day.csv")
def day_csv(web: WebOf, op: SupervisorData, d: str = "") -> Response:
    try:
        day = web.parse_day(d)
    except CheckoutError as exc:
        return PlainTextResponse(str(exc), 400)
    with web.lock:
        ledger = web.service.ledger
        text = day_csv_text(day_rows(ledger, day), self_pay_day_rows(ledger, day))
    name = f"medpos-{web.service.config.terminal.dev_no}-{day.isoformat()}.csv"
    return Response(
        "\ufeff" + text,  # a BOM, so that spreadsheet programs read UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
