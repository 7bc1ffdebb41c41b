"""The queue of 3505 trace reports (trace-codes.md "To the platform"): self-pay sales and their
refunds, outside the ledger chain, sent in the order queued, idempotent by `txn_id`.

A report is queued in its sale's or refund's own unit of work; the drain takes due reports and
records each answer: done (kept with the answer), parked with the reason, or retried later.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from terminal.ledger.store import SqliteLedger

__all__ = [
    "due_trace_reports",
    "park_trace_report",
    "parked_trace_reports",
    "queue_trace_report",
    "release_trace_reports",
    "retry_trace_report",
    "trace_report_done",
    "trace_report_state",
]


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def queue_trace_report(
    conn: sqlite3.Connection, txn_id: str, report: Mapping[str, Any], at: datetime
) -> None:
    """Queue a 3505 `input` (in the caller's unit of work)."""
    conn.execute(
        "INSERT INTO trace_reports (txn_id, input, created_at) VALUES (?, ?, ?)",
        (txn_id, json.dumps(report, ensure_ascii=False, sort_keys=True), _stamp(at)),
    )


def due_trace_reports(
    ledger: SqliteLedger, now: datetime, limit: int
) -> list[tuple[str, dict[str, Any], int]]:
    """`(txn_id, input, attempts)` of the reports due, in the order queued."""
    rows = ledger.conn.execute(
        "SELECT txn_id, input, attempts FROM trace_reports WHERE state = 'pending' "
        "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY rowid LIMIT ?",
        (_stamp(now), limit),
    ).fetchall()
    return [(txn_id, json.loads(text), attempts) for txn_id, text, attempts in rows]


def trace_report_done(
    conn: sqlite3.Connection, txn_id: str, answer: Mapping[str, Any], at: datetime
) -> None:
    """The platform took the report (`retRslt` "1"): kept with its answer, out of the queue."""
    conn.execute(
        "UPDATE trace_reports SET state = 'done', attempts = attempts + 1, answer = ?, "
        "last_error = NULL, next_attempt_at = ? WHERE txn_id = ?",
        (json.dumps(answer, ensure_ascii=False, sort_keys=True), _stamp(at), txn_id),
    )


def park_trace_report(conn: sqlite3.Connection, txn_id: str, reason: str) -> None:
    """The platform refused the report (`retRslt` "0", or the envelope): kept with the reason."""
    conn.execute(
        "UPDATE trace_reports SET state = 'parked', attempts = attempts + 1, last_error = ? "
        "WHERE txn_id = ?",
        (reason, txn_id),
    )


def retry_trace_report(
    conn: sqlite3.Connection, txn_id: str, error: str, next_attempt_at: datetime
) -> None:
    """No answer (the platform unreachable): try again later."""
    conn.execute(
        "UPDATE trace_reports SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
        "WHERE txn_id = ?",
        (error, _stamp(next_attempt_at), txn_id),
    )


def release_trace_reports(conn: sqlite3.Connection, txn_id: str | None = None) -> int:
    """Put parked reports (one, or all) back in the queue, to be judged afresh (the platform
    stores nothing of a report it refused); how many."""
    cur = conn.execute(
        "UPDATE trace_reports SET state = 'pending', next_attempt_at = NULL "
        "WHERE state = 'parked' AND (? IS NULL OR txn_id = ?)",
        (txn_id, txn_id),
    )
    return cur.rowcount


def parked_trace_reports(ledger: SqliteLedger) -> list[dict[str, Any]]:
    """The parked reports in the order queued: `txn_id`, `last_error` (why), `attempts`."""
    rows = ledger.conn.execute(
        "SELECT txn_id, last_error, attempts FROM trace_reports WHERE state = 'parked' "
        "ORDER BY rowid"
    ).fetchall()
    return [{"txn_id": t, "last_error": e, "attempts": a} for t, e, a in rows]


def trace_report_state(ledger: SqliteLedger, txn_id: str) -> dict[str, Any] | None:
    """A report's `{state, attempts, last_error, input, answer}`, or None."""
    row = ledger.conn.execute(
        "SELECT state, attempts, last_error, input, answer FROM trace_reports WHERE txn_id = ?",
        (txn_id,),
    ).fetchone()
    if row is None:
        return None
    state, attempts, error, text, answer = row
    return {
        "state": state,
        "attempts": attempts,
        "last_error": error,
        "input": json.loads(text),
        "answer": json.loads(answer) if answer else None,
    }
