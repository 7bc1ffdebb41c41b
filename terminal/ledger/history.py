"""Sale history and partial refunds in the ledger (docs/ui.md "Sale history", docs/core.md
"Partial refunds"): the named queries the history page, `medpos sale list|show`, receipts and
`/verify` read, and the one write that links a partial refund's reversal to the sale of what the
customer kept.

A history row is a `reports` row (`seq`, `txn_id`, `kind`, `settled_at`, the amounts of the sale
or, for a reversal, the original's negated, `refunded_by`) with `psn_no` and `kept_txn_id` (the
new sale of a partial refund, on its reversal's row and on the original's row) and `owner` (the
cashier whose sale it is: a refund's and a kept sale's are their original's cashier's).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from terminal.ledger.reports import _ROWS
from terminal.ledger.store import SqliteLedger

__all__ = [
    "HistoryQuery",
    "PartialRefund",
    "acct_balance_after",
    "find_sales",
    "history_row",
    "link_partial_refund",
    "partial_refund_of",
    "refund_of",
]

PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """What to find: a business date, an optional time range within it (`HH:MM`), a person
    (name, psn_no or the tail of the ID number), a receipt (txn id) and a cashier."""

    day: date
    time_from: str = ""
    time_to: str = ""
    person: str = ""
    receipt: str = ""
    operator: str = ""  # "" = every cashier; else theirs, with the refunds of their sales
    page: int = 1


@dataclass(frozen=True, slots=True)
class PartialRefund:
    """The link of one partial refund: the original, its reversal, the sale of what was kept."""

    orig_txn_id: str
    reversal_txn_id: str
    kept_txn_id: str
    refunded: tuple[tuple[int, str, str], ...]  # (line_no, code, qty given back)
    reason: str


# `owner`: the cashier of the sale, of a refund's original, of a kept sale's original
_HISTORY = _ROWS.replace(
    "FROM txns t ",
    ", t.psn_no, COALESCE(p.kept_txn_id, pk.kept_txn_id) AS kept_txn_id, "
    "COALESCE(ko.operator, o.operator, t.operator) AS owner "
    "FROM txns t LEFT JOIN partial_refunds p ON p.reversal_txn_id = t.txn_id "
    "LEFT JOIN partial_refunds pk ON pk.orig_txn_id = t.txn_id "
    "LEFT JOIN partial_refunds pkept ON pkept.kept_txn_id = t.txn_id "
    "LEFT JOIN txns ko ON ko.txn_id = pkept.orig_txn_id ",
    1,
)


def find_sales(ledger: SqliteLedger, q: HistoryQuery) -> tuple[list[sqlite3.Row], bool]:
    """One page of the day's sales and reversals matching `q`, newest first, and whether there
    is a next page."""
    where = ["t.setl_date = ?"]
    params: list[Any] = [q.day.isoformat()]
    if q.time_from:
        where.append("substr(t.settled_at, 12, 5) >= ?")
        params.append(q.time_from)
    if q.time_to:
        where.append("substr(t.settled_at, 12, 5) <= ?")
        params.append(q.time_to)
    if q.person:
        where.append(
            "(COALESCE(t.psn_name, o.psn_name) LIKE ? OR COALESCE(t.psn_no, o.psn_no) = ? "
            "OR COALESCE(t.psn_cert, o.psn_cert) LIKE ?)"
        )
        params += [f"%{q.person}%", q.person, f"%{q.person}"]
    if q.receipt:
        where.append("(t.txn_id = ? OR t.txn_id LIKE ?)")
        params += [q.receipt, f"%-{q.receipt}"]
    if q.operator:  # their sales, and the refunds and kept sales of their sales
        where.append("? IN (t.operator, o.operator, ko.operator)")
        params.append(q.operator)
    page = max(1, q.page)
    sql = (
        _HISTORY
        + "WHERE "
        + " AND ".join(where)
        + f" ORDER BY t.seq DESC LIMIT {PAGE_SIZE + 1} OFFSET {(page - 1) * PAGE_SIZE}"
    )
    rows = ledger.query(sql, tuple(params))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def history_row(ledger: SqliteLedger, txn_id: str) -> sqlite3.Row | None:
    """The history row of one transaction, or None."""
    rows = ledger.query(_HISTORY + "WHERE t.txn_id = ?", (txn_id,))
    return rows[0] if rows else None


def link_partial_refund(conn: sqlite3.Connection, link: PartialRefund) -> None:
    """Record a partial refund's link (inside the unit that wrote its reversal and new sale)."""
    conn.execute(
        "INSERT INTO partial_refunds (reversal_txn_id, orig_txn_id, kept_txn_id, refunded, "
        "reason) VALUES (?, ?, ?, ?, ?)",
        (
            link.reversal_txn_id,
            link.orig_txn_id,
            link.kept_txn_id,
            json.dumps([list(r) for r in link.refunded], ensure_ascii=False),
            link.reason,
        ),
    )


_ROLES = ("orig_txn_id", "reversal_txn_id", "kept_txn_id")


def partial_refund_of(ledger: SqliteLedger, txn_id: str, role: str) -> PartialRefund | None:
    """The partial refund in which `txn_id` is the `role` ("orig_txn_id", "reversal_txn_id" or
    "kept_txn_id"), or None."""
    if role not in _ROLES:
        raise ValueError(f"role {role!r} is not one of {_ROLES}")
    rows = ledger.query(f"SELECT * FROM partial_refunds WHERE {role} = ?", (txn_id,))
    return _link(rows[0]) if rows else None


def _link(row: sqlite3.Row) -> PartialRefund:
    refunded: Sequence[Sequence[Any]] = json.loads(row["refunded"])
    return PartialRefund(
        row["orig_txn_id"],
        row["reversal_txn_id"],
        row["kept_txn_id"],
        tuple((int(n), str(code), str(qty)) for n, code, qty in refunded),
        row["reason"],
    )


def acct_balance_after(ledger: SqliteLedger, seq: int) -> int | None:
    """The personal account balance after the sale at `seq` (fen), or None when not recorded."""
    rows = ledger.query(
        "SELECT amount FROM txn_accumulators WHERE seq = ? AND phase = 'after' "
        "AND path = 'acct_balance'",
        (seq,),
    )
    return int(rows[0]["amount"]) if rows else None


def refund_of(ledger: SqliteLedger, txn_id: str) -> sqlite3.Row | None:
    """The reversal of sale `txn_id` (`txn_id`, `settled_at`, `reason`, and `kept_txn_id` when it
    was a partial refund), or None when it was not refunded."""
    rows = ledger.query(
        "SELECT r.txn_id, r.settled_at, r.reason, p.kept_txn_id FROM txns r "
        "LEFT JOIN partial_refunds p ON p.reversal_txn_id = r.txn_id WHERE r.orig_txn_id = ?",
        (txn_id,),
    )
    return rows[0] if rows else None
