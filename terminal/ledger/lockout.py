"""Wrong PINs per operator id, durable: the sign-in lockout (docs/security.md) counts each wrong
PIN in its own write unit, so parallel guesses count one by one and a restart forgets nothing."""

from __future__ import annotations

import sqlite3

from terminal.ledger.store import SqliteLedger, translate_sqlite_error

__all__ = ["add_pin_failure", "clear_pin_failures", "pin_failures"]


def pin_failures(ledger: SqliteLedger, operator_id: str) -> tuple[int, float]:
    """(wrong PINs, time of the last) for `operator_id`; (0, 0.0) when none."""
    try:
        row = ledger.conn.execute(
            "SELECT failures, last_at FROM pin_failures WHERE operator_id = ?", (operator_id,)
        ).fetchone()
    except sqlite3.Error as exc:
        raise translate_sqlite_error(exc, ledger.path) from exc
    return (int(row[0]), float(row[1])) if row else (0, 0.0)


def add_pin_failure(ledger: SqliteLedger, operator_id: str, at: float) -> int:
    """One more wrong PIN for `operator_id` at `at`, in its own write unit; the new count."""
    with ledger.write() as unit:
        count = pin_failures(ledger, operator_id)[0] + 1
        ledger.conn.execute(
            "INSERT INTO pin_failures (operator_id, failures, last_at) VALUES (?, ?, ?) "
            "ON CONFLICT (operator_id) DO UPDATE SET failures = excluded.failures, "
            "last_at = excluded.last_at",
            (operator_id, count, at),
        )
        unit.commit()
    return count


def clear_pin_failures(ledger: SqliteLedger, operator_id: str) -> None:
    """A right PIN: the count of `operator_id` starts again."""
    with ledger.write() as unit:
        ledger.conn.execute("DELETE FROM pin_failures WHERE operator_id = ?", (operator_id,))
        unit.commit()
