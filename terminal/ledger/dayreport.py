"""A business day as `medpos report day` and the day-end page both show it (one query for both).

A closed day shows its signed closure's figures, never live totals beside it (issue 13, finding 4):
the closure covers the entries after the previous closure up to the last one dated that day when
it was closed. Sales and reversals dated that day but made after the closure are the next period:
the next closure covers them, and they are shown apart (`next_period`). An open day shows its live
totals. Each has its `breakdown` (by payment method and operator, the self-pay gross, the cash
drawer: `terminal/ledger/tenders.py`) as a dict, or None for a closure made before there was one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from terminal.ledger.closures import (
    SELF_PAY_SUMS,
    breakdown_of,
    day_totals,
    get_closure,
    signed_amounts_sql,
    totals_of,
)
from terminal.ledger.store import SqliteLedger
from terminal.ledger.tenders import breakdown
from terminal.ledger.trace import uncoded_self_pay_count

__all__ = ["day_report"]


def day_report(ledger: SqliteLedger, day: date, opening_float: int = 0) -> dict[str, Any]:
    """`closed`, `figures` (the closure's when closed, else the live totals), `closure` (or None)
    and `next_period` (a closed day's later sales and reversals dated `day`, else None); and
    `uncoded_self_pay` when self-pay sales sold drugs without codes before the rule
    (trace-codes.md "Dates"). `opening_float`: the drawer's float (fen, `[till] opening_float`)
    of live figures."""
    report = _report(ledger, day, opening_float)
    uncoded = uncoded_self_pay_count(ledger.conn, day.isoformat())
    if uncoded:
        report["uncoded_self_pay"] = uncoded
    return report


def _report(ledger: SqliteLedger, day: date, opening_float: int) -> dict[str, Any]:
    closure = get_closure(ledger, day)
    if closure is None:
        return {
            "closed": False,
            "figures": {"setl_date": day.isoformat(), **day_totals(ledger, day, opening_float)},
            "closure": None,
            "next_period": None,
        }
    closure = {**closure, "breakdown": breakdown_of(closure)}
    return {
        "closed": True,
        "figures": closure,
        "closure": closure,
        "next_period": _after(ledger, day, closure, opening_float),
    }


def _after(
    ledger: SqliteLedger, day: date, closure: dict[str, Any], opening_float: int
) -> dict[str, Any]:
    """Totals of what is dated `day` but was made after `closure` (not covered by it)."""
    conn = ledger.conn
    covered = closure["last_seq"]
    if covered is None:  # a closure of no sales covers up to where the one before it did
        covered = conn.execute(
            "SELECT MAX(last_seq) FROM closures WHERE closure_no < ?", (closure["closure_no"],)
        ).fetchone()[0]
    row = conn.execute(
        signed_amounts_sql("t.setl_date = ? AND t.seq > ?"), (day.isoformat(), covered or 0)
    ).fetchone()
    sp = (day.isoformat(), closure.get("self_pay_last_id") or 0)
    count, total = conn.execute(SELF_PAY_SUMS + "WHERE setl_date = ? AND id > ?", sp).fetchone()
    parts = breakdown(
        conn,
        "t.setl_date = ? AND t.seq > ?",
        (day.isoformat(), covered or 0),
        "s.setl_date = ? AND s.id > ?",
        sp,
        opening_float,
    )
    return {**totals_of(row), "self_pay_count": count, "self_pay_total": total, "breakdown": parts}
