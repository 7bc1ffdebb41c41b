"""`medpos sale list|show|refund|receipt`: a day's sales found by time, person or receipt number,
one sale with its lines and split, a partial refund (docs/core.md "Partial refunds") and a
receipt written as PDF (docs/printer.md "PDF").

Exit codes: 0 done; 1 a refused refund, an unknown sale or an error of the terminal; 2 invalid
input; 4 the kept sale of a partial refund was refused by a limit or the hotlist (nothing was
written).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from terminal.cli._common import Context, business_date, emit_json, fail, open_service

__all__ = ["register"]


def register(sub: Any) -> None:
    sale = sub.add_parser("sale", help="find, show, partly refund a sale, or its PDF receipt")
    sale_sub = sale.add_subparsers(dest="sale_command", metavar="ACTION", required=True)
    found = sale_sub.add_parser("list", help="a day's sales and refunds, newest first")
    found.add_argument(
        "--date", type=business_date, help="business date (default: today in the region)"
    )
    found.add_argument("--from", dest="time_from", metavar="HH:MM", default="")
    found.add_argument("--to", dest="time_to", metavar="HH:MM", default="")
    found.add_argument("--person", default="", help="name, psn_no or last digits of the ID")
    found.add_argument("--receipt", default="", help="txn id, or its number after the dash")
    found.add_argument("--operator", default="", help="one cashier's sales only")
    found.add_argument("--page", type=int, default=1)
    found.add_argument("--db", metavar="PATH")
    found.set_defaults(func=_list)

    show = sale_sub.add_parser("show", help="one sale: lines, split, refund")
    show.add_argument("txn_id", metavar="TXN_ID")
    show.add_argument("--db", metavar="PATH")
    show.set_defaults(func=_show)

    part = sale_sub.add_parser(
        "refund", help="partial refund: reverse the sale and sell again what is kept (one unit)"
    )
    part.add_argument("txn_id", metavar="TXN_ID")
    part.add_argument(
        "--lines", required=True, metavar="N:QTY,…", help="quantities given back, lines from 1"
    )
    part.add_argument("--reason", required=True)
    part.add_argument("--operator", required=True, help="the supervisor's operator id")
    part.add_argument("--db", metavar="PATH")
    part.set_defaults(func=_refund)

    pdf = sale_sub.add_parser("receipt", help="write a sale's or refund's receipt as PDF")
    pdf.add_argument("txn_id", metavar="TXN_ID")
    pdf.add_argument("--pdf", required=True, metavar="FILE", help="where to write it")
    pdf.add_argument("--lang", choices=["zh", "en"], default="zh")
    pdf.add_argument("--db", metavar="PATH")
    pdf.set_defaults(func=_receipt)


def _row(r: Any) -> dict[str, Any]:
    from terminal.settlement.money import format_fen

    return {
        "txn_id": r["txn_id"],
        "kind": r["kind"],
        "settled_at": r["settled_at"],
        "operator": r["operator"],
        "psn_name": r["psn_name"],
        "psn_no": r["psn_no"],
        "medfee": format_fen(r["medfee"]),
        "fund": format_fen(r["fund"]),
        "acct": format_fen(r["acct"]),
        "cash": format_fen(r["cash"]),
        "orig_txn_id": r["orig_txn_id"],
        "refunded_by": r["refunded_by"],
        "kept_txn_id": r["kept_txn_id"],
    }


def _list(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.ledger.history import HistoryQuery, find_sales

    if args.page < 1:
        return fail("--page counts from 1", 2)
    service = open_service(ctx, args.db)
    query = HistoryQuery(
        day=args.date or service.local_now().date(),
        time_from=args.time_from,
        time_to=args.time_to,
        person=args.person.strip(),
        receipt=args.receipt.strip(),
        operator=args.operator.strip(),
        page=args.page,
    )
    rows, more = find_sales(service.ledger, query)
    for r in rows:
        emit_json(_row(r))
    if more:
        emit_json({"next_page": args.page + 1})
    return 0


def _show(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.ledger import txn_lines
    from terminal.ledger.history import history_row

    service = open_service(ctx, args.db)
    row = history_row(service.ledger, args.txn_id)
    if row is None:
        return fail(f"no transaction {args.txn_id} on this terminal: check the receipt number", 1)
    seq = row["seq"] if row["kind"] == "sale" else service.ledger.txn(row["orig_txn_id"])["seq"]
    lines = [
        {"line": r["line_no"] + 1, "code": r["code"], "name": r["name"], "qty": r["qty"]}
        | {"price": r["price"], "covered": bool(r["covered"])}
        for r in txn_lines(service.ledger, seq)
    ]
    emit_json({**_row(row), "lines": lines})
    return 0


def _refund(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.checkout.model import CheckoutRefused
    from terminal.checkout.partial import parse_refund_lines
    from terminal.checkout.refunding import partial_refund
    from terminal.errors import CheckoutError

    try:
        give_back = parse_refund_lines(args.lines)
    except CheckoutError as exc:
        return fail(str(exc), 2)
    service = open_service(ctx, args.db)
    try:
        done = partial_refund(
            service, args.txn_id, give_back, reason=args.reason, operator=args.operator
        )
    except CheckoutRefused as exc:
        emit_json(exc.refusal.as_json())
        return fail(f"the kept sale is refused, nothing was written: {exc.refusal.message}", 4)
    except CheckoutError as exc:
        emit_json({"error": exc.code, "message": str(exc)})
        return fail(str(exc), 2 if exc.code == "bad_refund" else 1)
    emit_json(
        {
            "orig_txn_id": args.txn_id,
            "txn_id": done.reversal.txn_id,
            "kept_txn_id": done.kept.txn_id if done.kept else None,
            "kept_setlinfo": done.kept.upload_input["result"]["setlinfo"] if done.kept else None,
            "refunded": [{"line": n + 1, "code": c, "qty": q} for n, c, q in done.plan.refunded],
        }
    )
    return 0


def _receipt(args: argparse.Namespace, ctx: Context) -> int:
    from drivers.printer.pdf import receipt_pdf
    from terminal.errors import DriverError
    from terminal.web.receipts import receipt_for

    service = open_service(ctx, args.db)
    receipt = receipt_for(service, args.txn_id, args.lang)
    if receipt is None:
        return fail(f"no transaction {args.txn_id} on this terminal: check the receipt number", 1)
    try:
        data = receipt_pdf(receipt)
    except DriverError as exc:
        return fail(str(exc), 1)
    try:
        Path(args.pdf).write_bytes(data)
    except OSError as exc:
        return fail(f"cannot write {args.pdf}: {exc.strerror}", 1)
    emit_json({"txn_id": args.txn_id, "pdf": args.pdf, "bytes": len(data)})
    return 0
