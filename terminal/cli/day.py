"""`medpos day close` (the signed daily closure), `medpos report day` and `medpos report x` (the
X report: what the closure would hold now, written nowhere). Money is printed as yuan text; the
`breakdown` (by payment method and operator, self-pay gross, the cash drawer) likewise."""

from __future__ import annotations

import argparse
from typing import Any

from terminal.cli._common import Context, business_date, emit_json, fail, open_service

__all__ = ["register"]


def register(sub: Any) -> None:
    day = sub.add_parser("day", help="day-end operations")
    day_sub = day.add_subparsers(dest="day_command", metavar="ACTION", required=True)
    close = day_sub.add_parser("close", help="write the signed closure of a day")
    close.add_argument(
        "--date", type=business_date, help="business date (default: today in the region)"
    )
    close.add_argument("--operator", help="supervisor closing the day")
    close.add_argument("--db", metavar="PATH")
    close.set_defaults(func=_close)

    report = sub.add_parser("report", help="reports")
    report_sub = report.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    rday = report_sub.add_parser("day", help="a day's closure, or its live totals if not closed")
    rday.add_argument(
        "--date", type=business_date, help="business date (default: today in the region)"
    )
    rday.add_argument("--db", metavar="PATH")
    rday.set_defaults(func=_report)
    rx = report_sub.add_parser(
        "x", help="the X report: the figures the day's closure would have now (changes nothing)"
    )
    rx.add_argument(
        "--date", type=business_date, help="business date (default: today in the region)"
    )
    rx.add_argument("--db", metavar="PATH")
    rx.set_defaults(func=_report_x)


def _close(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.errors import LedgerError

    service = open_service(ctx, args.db)
    try:
        closure = service.close_day(args.date, args.operator)
    except LedgerError as exc:
        return fail(str(exc), 1)
    emit_json(_present(closure, closed=True))
    return 0


def _report(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.ledger import day_report

    service = open_service(ctx, args.db)
    day = args.date or service.local_now().date()
    till = service.config.till.opening_float
    report = day_report(service.ledger, day, till)  # the day-end page shows the same
    out = _present(report["figures"], closed=report["closed"])
    if report["next_period"] is not None:
        out["next_period"] = _present(report["next_period"], closed=False)
    emit_json(out)
    return 0


def _report_x(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.ledger.closures import pending_closure

    service = open_service(ctx, args.db)
    now = service.local_now()
    figures = pending_closure(
        service.ledger,
        args.date or now.date(),
        at=now,
        opening_float=service.config.till.opening_float,
    )
    out = _present(figures, closed=False)
    out["report"] = "x"
    emit_json(out)
    return 0


def _present(closure: dict[str, Any], closed: bool) -> dict[str, Any]:
    import json

    from terminal.ledger.closures import CLOSURE_MONEY
    from terminal.settlement.money import format_fen

    money = (*CLOSURE_MONEY, "self_pay_total")
    out = {k: (format_fen(v) if k in money and v is not None else v) for k, v in closure.items()}
    parts = closure.get("breakdown")
    if isinstance(parts, str):  # as a closure stores it (canonical JSON text)
        parts = json.loads(parts)
    if parts is not None:
        out["breakdown"] = _yuan(parts)
    out["closed"] = closed
    return out


def _yuan(value: Any, key: str = "") -> Any:
    """A breakdown with its amounts as yuan text (the counts `sales`, `refunds` stay numbers)."""
    from terminal.settlement.money import format_fen

    if isinstance(value, dict):
        return {k: _yuan(v, k) for k, v in value.items()}
    return value if key in ("sales", "refunds") else format_fen(value)
