"""Parked baskets (docs/ui.md "Park and recall"): a basket set aside and recalled later, kept in
the terminal database so a restart loses none. Parking and recalling are each one write unit with
their audit line; a basket is recalled once (`take_parked` deletes the row it returns)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from terminal.ledger.store import SqliteLedger, translate_sqlite_error

__all__ = ["park_basket", "parked_baskets", "take_parked"]


def park_basket(
    ledger: SqliteLedger,
    basket_id: str,
    *,
    label: str,
    body: dict[str, Any],
    operator: str | None,
    at: datetime,
    reason: str = "",
) -> None:
    """Store the basket `basket_id` (`body`: its lines and visit type) with an audit line."""
    detail: dict[str, Any] = {"basket_id": basket_id, "lines": len(body.get("lines", []))}
    if reason:
        detail["reason"] = reason
    with ledger.write() as unit:
        ledger.conn.execute(
            "INSERT INTO parked_baskets (basket_id, parked_at, operator_id, label, body) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                basket_id,
                at.isoformat(timespec="seconds"),
                operator,
                label,
                json.dumps(body, ensure_ascii=False, sort_keys=True),
            ),
        )
        unit.audit("park", operator, detail, at)
        unit.commit()


def parked_baskets(ledger: SqliteLedger) -> list[dict[str, Any]]:
    """The parked baskets in the order parked: `basket_id`, `parked_at`, `operator_id`,
    `label`, `lines` (how many)."""
    rows = ledger.query(
        "SELECT basket_id, parked_at, operator_id, label, body FROM parked_baskets "
        "ORDER BY parked_at, rowid"
    )
    return [
        {
            "basket_id": r["basket_id"],
            "parked_at": r["parked_at"],
            "operator_id": r["operator_id"],
            "label": r["label"],
            "lines": len(json.loads(r["body"]).get("lines", [])),
        }
        for r in rows
    ]


def take_parked(
    ledger: SqliteLedger, basket_id: str, *, operator: str | None, at: datetime
) -> dict[str, Any] | None:
    """The body of the parked basket `basket_id`, removed from the parked list with an audit
    line; None when no such basket is parked (recalled already, or never parked)."""
    with ledger.write() as unit:
        try:
            row = ledger.conn.execute(
                "SELECT body FROM parked_baskets WHERE basket_id = ?", (basket_id,)
            ).fetchone()
        except sqlite3.Error as exc:
            raise translate_sqlite_error(exc, ledger.path) from exc
        if row is None:
            return None
        ledger.conn.execute("DELETE FROM parked_baskets WHERE basket_id = ?", (basket_id,))
        unit.audit("recall", operator, {"basket_id": basket_id}, at)
        unit.commit()
    body: dict[str, Any] = json.loads(row[0])
    return body
