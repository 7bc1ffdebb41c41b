"""Idempotency keys of insurance sales: a caller's `basket_id` and the answer its sale gave.

The row is written in the sale's own unit of work (`remember_basket` before `unit.commit()`), so
a sale committed and killed before its answer went out is still found by the caller's retry.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from terminal.ledger.store import SqliteLedger, translate_sqlite_error

__all__ = ["basket_answer", "remember_basket"]


def basket_answer(ledger: SqliteLedger, basket_id: str) -> dict[str, Any] | None:
    """The answer stored for `basket_id` (see `remember_basket`), or None."""
    try:
        row = ledger.conn.execute(
            "SELECT answer FROM sale_baskets WHERE basket_id = ?", (basket_id,)
        ).fetchone()
    except sqlite3.Error as exc:
        raise translate_sqlite_error(exc, ledger.path) from exc
    if row is None:
        return None
    answer: dict[str, Any] = json.loads(row[0])
    return answer


def remember_basket(
    ledger: SqliteLedger, basket_id: str, txn_id: str, answer: dict[str, Any]
) -> None:
    """Store `basket_id` → the sale `txn_id` and its answer, in the caller's unit of work."""
    ledger.conn.execute(
        "INSERT INTO sale_baskets (basket_id, txn_id, answer) VALUES (?, ?, ?)",
        (basket_id, txn_id, json.dumps(answer, sort_keys=True, separators=(",", ":"))),
    )
