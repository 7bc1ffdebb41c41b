"""The day's CSV export (docs/ui.md "Refunds, day-end, status"): one row per insurance transaction
(`kind` `sale` or `reversal`, in `seq` order), then one per self-pay sale or refund (`kind`
`self_pay` or `self_pay_refund`, in the order they were made). Self-pay rows have no `seq`,
person, offline flag or fund split (the customer paid it all: `psn_cash_pay` is the total) and are
never uploaded (`sync_status` `not_uploaded`). The last four columns say how the person paid
(`paid_cash`, `paid_bank_card`, `paid_mobile`, a refund's negative) and the cash handed over
(`cash_given`; the change is `cash_given` − `paid_cash`). Pure: the rows come from the caller.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from terminal.checkout.basket import mask_cert
from terminal.settlement.money import format_fen
from terminal.web.chart import Row

__all__ = ["DAY_CSV_COLUMNS", "day_csv_text"]

DAY_CSV_COLUMNS = (
    "seq",
    "txn_id",
    "kind",
    "settled_at",
    "offline",
    "operator",
    "payment_method",
    "psn_name",
    "psn_cert",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "acct_pay",
    "psn_cash_pay",
    "orig_txn_id",
    "sync_status",
    "paid_cash",
    "paid_bank_card",
    "paid_mobile",
    "cash_given",
)


def day_csv_text(insurance: Sequence[Row], self_pay: Sequence[Row]) -> str:
    """The CSV text (no BOM) of a day's insurance rows and self-pay rows."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(DAY_CSV_COLUMNS)
    for r in insurance:
        writer.writerow(
            [
                r["seq"],
                r["txn_id"],
                r["kind"],
                r["settled_at"],
                r["offline"],
                r["operator"] or "",
                r["payment_method"] or "",
                r["psn_name"] or "",
                mask_cert(r["psn_cert"] or ""),
                format_fen(r["medfee"]),
                format_fen(r["fund"]),
                format_fen(r["acct"]),
                format_fen(r["cash"]),
                r["orig_txn_id"] or "",
                r["ack"] or ("queued" if r["queued"] else "pending"),
                *_paid(r),
            ]
        )
    for s in self_pay:
        writer.writerow(
            [
                "",
                s["self_pay_id"],
                "self_pay_refund" if s["orig_id"] is not None else "self_pay",
                s["settled_at"],
                "",
                s["operator"] or "",
                s["payment_method"],
                "",
                "",
                format_fen(s["total"]),
                format_fen(0),
                format_fen(0),
                format_fen(s["total"]),
                s["orig_self_pay_id"] or "",
                "not_uploaded",
                *_paid(s),
            ]
        )
    return buf.getvalue()


def _paid(row: Row) -> list[str]:
    """The payment columns of a row: yuan text, empty where nothing was paid that way."""
    keys = ("paid_cash", "paid_bank_card", "paid_mobile", "cash_given")
    return [format_fen(row[k]) if row[k] is not None else "" for k in keys]
