"""The outbox and acknowledgements as sync and its status read them: named queries over a
`SqliteLedger` (DESIGN.md "A transaction's life", step 5; platform-api.md "Upload").

The writes that record what the platform answered are `WriteUnit` methods (`record_ack`,
`retry_later`, `park`, `release_parked`); what lives here are the reads that decide what to send
next and what the status shows, and the one write that asks for every waiting entry at once.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from typing import Any

from terminal.ledger.store import SqliteLedger

__all__ = [
    "day_acknowledgements",
    "due_entries",
    "has_expired_replay",
    "last_acked_entry",
    "outbox_summary",
    "parked_entries",
    "retry_pending_now",
]


def due_entries(ledger: SqliteLedger, now: datetime, limit: int) -> list[sqlite3.Row]:
    """Pending outbox entries whose next attempt is due at `now`, in seq order (at most `limit`):
    `txn_id`, `kind`, `attempts`, `med_type`, `orig_med_type` (of the sale a reversal reverses)."""
    return ledger.query(
        "SELECT o.txn_id, o.kind, o.attempts, t.med_type, r.med_type AS orig_med_type, "
        "t.insuplc_admdvs FROM outbox o JOIN txns t ON t.txn_id = o.txn_id "
        "LEFT JOIN txns r ON r.txn_id = t.orig_txn_id "
        "WHERE o.state = 'pending' AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?) "
        "ORDER BY o.seq LIMIT ?",
        (now.isoformat(timespec="seconds"), limit),
    )


def retry_pending_now(ledger: SqliteLedger) -> None:
    """Every pending entry due at once, whatever its backoff (a cashier's "sync now")."""
    with ledger.write() as unit:
        ledger.conn.execute("UPDATE outbox SET next_attempt_at = NULL WHERE state = 'pending'")
        unit.commit()


def day_acknowledgements(ledger: SqliteLedger, day: date) -> list[sqlite3.Row]:
    """`day`'s sales and reversals in seq order with their amounts (a reversal's from its sale
    when it has none of its own), their acknowledgement and their original sale's."""
    return ledger.query(
        "SELECT t.txn_id, t.kind, a.status, a.platform_result, "
        "COALESCE(t.medfee_sumamt, o.medfee_sumamt) AS medfee_sumamt, "
        "COALESCE(t.fund_pay_sumamt, o.fund_pay_sumamt) AS fund_pay_sumamt, "
        "COALESCE(t.acct_pay, o.acct_pay) AS acct_pay, "
        "COALESCE(t.psn_cash_pay, o.psn_cash_pay) AS psn_cash_pay, "
        "oa.status AS orig_status, oa.platform_result AS orig_result "
        "FROM txns t LEFT JOIN acks a ON a.txn_id = t.txn_id "
        "LEFT JOIN txns o ON o.txn_id = t.orig_txn_id "
        "LEFT JOIN acks oa ON oa.txn_id = t.orig_txn_id "
        "WHERE t.setl_date = ? ORDER BY t.seq",
        (day.isoformat(),),
    )


def outbox_summary(ledger: SqliteLedger) -> tuple[int, str | None]:
    """`(entries in the outbox, created_at of the oldest)`."""
    row = ledger.query("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox")[0]
    return int(row["n"]), row["oldest"]


def parked_entries(ledger: SqliteLedger) -> list[dict[str, Any]]:
    """The parked entries in seq order: `txn_id`, `last_error` (why), `attempts`."""
    return [
        dict(r)
        for r in ledger.query(
            "SELECT txn_id, last_error, attempts FROM outbox WHERE state = 'parked' ORDER BY seq"
        )
    ]


def has_expired_replay(ledger: SqliteLedger, before: int) -> bool:
    """True when an e-card token id held against replay expired before `before` (epoch s)."""
    return bool(ledger.query("SELECT 1 FROM ecard_replay WHERE exp < ? LIMIT 1", (before,)))


def last_acked_entry(ledger: SqliteLedger) -> str | None:
    """The `txn_id` of the newest entry the platform acknowledged, or None."""
    rows = ledger.query("SELECT txn_id FROM acks ORDER BY seq DESC LIMIT 1")
    return str(rows[0]["txn_id"]) if rows else None
