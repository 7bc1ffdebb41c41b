"""Named read-only queries the faces show: a day's transactions, the sales a refund may pick, a
closure, a receipt's rows, a ledger entry (docs/ui.md "Refunds, day-end, status", "Receipts").

Rows are `sqlite3.Row`s (read by column name). An insurance row (`day_rows`, `refundable_sales`)
carries the amounts of the sale, or of a reversal the original's amounts negated (`medfee`,
`fund`, `acct`, `cash`), its upload state (`ack`, `queued`) and the refund that reversed it
(`refunded_by`). A self-pay row (`self_pay_day_rows`, `refundable_self_pay`) carries its `total`
and the self-pay id of its original (`orig_self_pay_id`) and of its refund (`refunded_by`).
Both carry how the person paid (`paid_cash`, `paid_bank_card`, `paid_mobile`: fen or NULL, a
refund's negative) and the cash handed over (`cash_given`).
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

from terminal.ledger.store import SqliteLedger
from terminal.ledger.tenders import TenderRow, read_tenders

__all__ = [
    "day_rows",
    "entry_of",
    "refundable_sales",
    "refundable_self_pay",
    "self_pay_day_rows",
    "txn_lines",
    "txn_of",
    "txn_with_entry",
    "tenders_of",
]

_LISTED = 30  # how many recent sales a refund search shows


def _paid(sale_id: str) -> str:
    """Columns `paid_cash`, `paid_bank_card`, `paid_mobile` and `cash_given` of a row."""
    cols = [
        f"(SELECT amount FROM sale_tenders WHERE sale_id = {sale_id} AND method = '{m}') "
        f"AS paid_{m}"
        for m in ("cash", "bank_card", "mobile")
    ]
    cols.append(
        f"(SELECT given FROM sale_tenders WHERE sale_id = {sale_id} AND method = 'cash') "
        "AS cash_given"
    )
    return ", ".join(cols) + " "


_ROWS = (
    "SELECT t.seq, t.txn_id, t.kind, t.settled_at, t.offline, t.operator, t.payment_method, "
    "COALESCE(t.psn_name, o.psn_name) AS psn_name, COALESCE(t.psn_cert, o.psn_cert) AS psn_cert, "
    "t.orig_txn_id, "
    "COALESCE(t.medfee_sumamt, -o.medfee_sumamt) AS medfee, "
    "COALESCE(t.fund_pay_sumamt, -o.fund_pay_sumamt) AS fund, "
    "COALESCE(t.acct_pay, -o.acct_pay) AS acct, "
    "COALESCE(t.psn_cash_pay, -o.psn_cash_pay) AS cash, "
    "a.status AS ack, (q.txn_id IS NOT NULL) AS queued, "
    "(SELECT r.txn_id FROM txns r WHERE r.orig_txn_id = t.txn_id) AS refunded_by, "
    + _paid("t.txn_id")
    + "FROM txns t LEFT JOIN txns o ON o.txn_id = t.orig_txn_id "
    "LEFT JOIN acks a ON a.txn_id = t.txn_id LEFT JOIN outbox q ON q.txn_id = t.txn_id "
)

_SELF_PAY_ROWS = (
    "SELECT s.id, s.self_pay_id, s.settled_at, s.operator, s.payment_method, s.total, s.orig_id, "
    "o.self_pay_id AS orig_self_pay_id, "
    "(SELECT r.self_pay_id FROM self_pay_sales r WHERE r.orig_id = s.id) AS refunded_by, "
    + _paid("s.self_pay_id")
    + "FROM self_pay_sales s LEFT JOIN self_pay_sales o ON o.id = s.orig_id "
)


def day_rows(ledger: SqliteLedger, day: date) -> list[sqlite3.Row]:
    """The day's insurance sales and reversals, in `seq` order."""
    return ledger.query(_ROWS + "WHERE t.setl_date = ? ORDER BY t.seq", (day.isoformat(),))


def refundable_sales(ledger: SqliteLedger, q: str) -> list[sqlite3.Row]:
    """Recent sales, newest first, matching `q` (transaction id, name or ID number tail)."""
    where = "WHERE t.kind = 'sale'"
    params: tuple[Any, ...] = ()
    if q:
        where += " AND (t.txn_id LIKE ? OR t.psn_name LIKE ? OR t.psn_cert LIKE ?)"
        params = (f"%{q}%", f"%{q}%", f"%{q}")
    return ledger.query(_ROWS + where + f" ORDER BY t.seq DESC LIMIT {_LISTED}", params)


def self_pay_day_rows(ledger: SqliteLedger, day: date) -> list[sqlite3.Row]:
    """The day's self-pay sales and refunds, in the order they were made."""
    return ledger.query(_SELF_PAY_ROWS + "WHERE s.setl_date = ? ORDER BY s.id", (day.isoformat(),))


def refundable_self_pay(ledger: SqliteLedger, q: str) -> list[sqlite3.Row]:
    """Recent self-pay sales (not refunds), newest first, whose id contains `q`."""
    where = "WHERE s.orig_id IS NULL"
    params: tuple[Any, ...] = ()
    if q:
        where += " AND s.self_pay_id LIKE ?"
        params = (f"%{q}%",)
    return ledger.query(_SELF_PAY_ROWS + where + f" ORDER BY s.id DESC LIMIT {_LISTED}", params)


def entry_of(ledger: SqliteLedger, txn_id: str) -> tuple[int, str] | None:
    """(`seq`, `hash`) of the ledger entry of `txn_id`, or None when there is none."""
    rows = ledger.query("SELECT seq, hash FROM ledger WHERE txn_id = ?", (txn_id,))
    return (int(rows[0]["seq"]), str(rows[0]["hash"])) if rows else None


def txn_with_entry(ledger: SqliteLedger, txn_id: str) -> sqlite3.Row | None:
    """The transaction row of `txn_id` with its ledger entry's hash (`entry_hash`), or None."""
    rows = ledger.query(
        "SELECT t.*, l.hash AS entry_hash FROM txns t JOIN ledger l ON l.txn_id = t.txn_id "
        "WHERE t.txn_id = ?",
        (txn_id,),
    )
    return rows[0] if rows else None


def txn_of(ledger: SqliteLedger, txn_id: str) -> sqlite3.Row | None:
    """The transaction row of `txn_id`, or None."""
    rows = ledger.query("SELECT * FROM txns WHERE txn_id = ?", (txn_id,))
    return rows[0] if rows else None


def txn_lines(ledger: SqliteLedger, seq: int) -> list[sqlite3.Row]:
    """The basket lines of the transaction at `seq`, in line order."""
    return ledger.query("SELECT * FROM txn_lines WHERE seq = ? ORDER BY line_no", (seq,))


def tenders_of(ledger: SqliteLedger, sale_id: str) -> list[TenderRow]:
    """How sale (or refund, or self-pay sale) `sale_id` was paid: `(method, fen, cash given)`."""
    return read_tenders(ledger.conn, sale_id)
