"""Daily closures (DESIGN.md "Ledger integrity"): a second signed chain, like a fiscal Z report.

A closure for business date D covers every sale and reversal after the previous closure up to the
last one dated D; it holds counts and sums per fund (a reversal counts −1 with the negated amounts
of the sale it reverses), the first and last `seq`, the `hash` of the last entry it covers and the
previous closure's hash, and is signed by the device key. It also counts the self-pay sales (no
insurance, outside the sales chain: `terminal/ledger/selfpay.py`) covered the same way, a self-pay
refund −1 with its (negative) total.

A closure made since migration m0007 also holds `breakdown` (`terminal/ledger/tenders.py`): the
payments by method and by operator, the self-pay sales and refunds gross and the cash drawer
expected, as canonical JSON text, hashed when present (older closures have none and keep the hash
they were signed with). `pending_closure` is the closure `close_day` would write now, written
nowhere: the X report.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sync.protocol.canonical import canonical_json
from terminal.errors import LedgerCorruptError, LedgerError
from terminal.ledger.records import GENESIS_HASH
from terminal.ledger.schema import SETLINFO_MONEY
from terminal.ledger.store import SqliteLedger
from terminal.ledger.tenders import breakdown

__all__ = [
    "CLOSURE_MONEY",
    "SELF_PAY_FIELDS",
    "SELF_PAY_SUMS",
    "close_day",
    "closure_hash",
    "day_totals",
    "closure_head_fault",
    "get_closure",
    "pending_closure",
    "signed_amounts_sql",
    "totals_of",
]

CLOSURE_MONEY = SETLINFO_MONEY[:-1]  # every setlinfo amount but the balance after
_HASHED = (
    "closure_no",
    "setl_date",
    "first_seq",
    "last_seq",
    "last_hash",
    "prev_closure_hash",
    "sale_count",
    "reversal_count",
    *CLOSURE_MONEY,
    "closed_at",
    "operator",
)


# Self-pay sales (no insurance) covered by the closure: the count (a refund −1), the total (fen; a
# refund's is negative) and the last `self_pay_sales.id` covered (sales and refunds share the ids).
# Closures made before self-pay sales existed have none of the three (NULL), so each is hashed only
# when present and those closures keep the hash they were signed with; every closure made since has
# all three.
SELF_PAY_FIELDS = ("self_pay_count", "self_pay_total", "self_pay_last_id")


def closure_hash(closure: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON of the closure's fields (all but `hash` and `sig`)."""
    fields = {k: closure[k] for k in _HASHED}
    fields.update((k, closure[k]) for k in SELF_PAY_FIELDS if closure.get(k) is not None)
    if closure.get("breakdown") is not None:  # closures made since m0007 (tender)
        fields["breakdown"] = closure["breakdown"]
    return hashlib.sha256(canonical_json(fields)).hexdigest()


def signed_amounts_sql(where: str) -> str:
    sums = ", ".join(
        f"COALESCE(SUM(CASE WHEN t.kind = 'sale' THEN t.{m} ELSE -o.{m} END), 0)"
        for m in CLOSURE_MONEY
    )
    return (
        "SELECT COUNT(CASE WHEN t.kind = 'sale' THEN 1 END), "
        "COUNT(CASE WHEN t.kind = 'reversal' THEN 1 END), "
        f"MIN(t.seq), MAX(t.seq), {sums} "
        "FROM txns t LEFT JOIN txns o ON o.txn_id = t.orig_txn_id "
        f"WHERE {where}"
    )


# a self-pay sale counts 1, its refund −1; a refund's total is stored negated already
SELF_PAY_SUMS = (
    "SELECT COALESCE(SUM(CASE WHEN orig_id IS NULL THEN 1 ELSE -1 END), 0), "
    "COALESCE(SUM(total), 0) FROM self_pay_sales "
)


def day_totals(ledger: SqliteLedger, day: date, opening_float: int = 0) -> dict[str, Any]:
    """Live totals of the sales and reversals dated `day` (not a closure: nothing is signed),
    with their `breakdown` (a dict)."""
    d = (day.isoformat(),)
    row = ledger.conn.execute(signed_amounts_sql("t.setl_date = ?"), d).fetchone()
    count, total = ledger.conn.execute(SELF_PAY_SUMS + "WHERE setl_date = ?", d).fetchone()
    parts = breakdown(ledger.conn, "t.setl_date = ?", d, "s.setl_date = ?", d, opening_float)
    return {**totals_of(row), "self_pay_count": count, "self_pay_total": total, "breakdown": parts}


def breakdown_of(closure: Mapping[str, Any]) -> dict[str, Any] | None:
    """A stored closure's `breakdown` as a dict (None: a closure made before m0007)."""
    text = closure.get("breakdown")
    return json.loads(text) if isinstance(text, str) else None


def get_closure(ledger: SqliteLedger, day: date) -> dict[str, Any] | None:
    """The stored closure of business date `day` (its columns, as signed), or None."""
    rows = ledger.query("SELECT * FROM closures WHERE setl_date = ?", (day.isoformat(),))
    return dict(rows[0]) if rows else None


def totals_of(row: tuple[Any, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "sale_count": row[0],
        "reversal_count": row[1],
        "first_seq": row[2],
        "last_seq": row[3],
    }
    out.update(zip(CLOSURE_MONEY, row[4:], strict=True))
    return out


def closure_head_fault(conn: sqlite3.Connection) -> str | None:
    """Why the last closure stored is not the last one signed (`meta.closure_head`, written with
    each closure): closures were deleted; None when they agree."""
    head = conn.execute("SELECT value FROM meta WHERE key = 'closure_head'").fetchone()
    last = conn.execute(
        "SELECT closure_no, hash FROM closures ORDER BY closure_no DESC LIMIT 1"
    ).fetchone()
    recorded = json.loads(head[0]) if head is not None else None
    found = {"closure_no": last[0], "hash": last[1]} if last is not None else None
    if recorded == found:
        return None
    return (
        f"the closures end at closure {found['closure_no'] if found else 0} but closure "
        f"{recorded['closure_no'] if recorded else 0} was the last one signed: closures were "
        "deleted or added"
    )


def close_day(
    ledger: SqliteLedger,
    day: date,
    *,
    operator: str | None,
    at: datetime,
    opening_float: int = 0,
) -> dict[str, Any]:
    """Write and return the signed closure of `day`; a closed or out-of-order day is refused.
    `opening_float`: the cash the drawer started with (fen), part of the drawer expected."""
    with ledger.write() as unit:
        conn = ledger.conn
        fault = closure_head_fault(conn)
        if fault is not None:  # a new closure would sign over the gap
            raise LedgerCorruptError(
                f"{fault}; nothing was signed: run `medpos ledger verify` and restore the "
                "database from backup"
            )
        closure = _next_closure(conn, day, operator, at, opening_float, refuse_closed=True)
        closure["hash"] = closure_hash(closure)
        closure["sig"] = ledger.key.sign_b64(bytes.fromhex(closure["hash"]))
        cols = list(closure)
        conn.execute(
            f"INSERT INTO closures ({', '.join(cols)}) "  # noqa: S608 - fixed column names
            f"VALUES ({', '.join('?' * len(cols))})",
            [closure[c] for c in cols],
        )
        unit.set_meta(
            "closure_head",
            json.dumps({"closure_no": closure["closure_no"], "hash": closure["hash"]}),
        )
        unit.audit(
            "day_close", operator, {"setl_date": day.isoformat(), "hash": closure["hash"]}, at
        )
        unit.commit()
    return closure


def _self_pay_covered(conn: sqlite3.Connection, after: int | None, day: date) -> dict[str, int]:
    """The self-pay sales and refunds after the previous closure's up to the last one dated `day`
    (as the entries of the sales chain are covered)."""
    after = after or 0
    end = conn.execute(
        "SELECT MAX(id) FROM self_pay_sales WHERE id > ? AND setl_date <= ?",
        (after, day.isoformat()),
    ).fetchone()[0]
    if end is None:
        return {"self_pay_count": 0, "self_pay_total": 0, "self_pay_last_id": after}
    span = (after, end)
    count, total = conn.execute(SELF_PAY_SUMS + "WHERE id > ? AND id <= ?", span).fetchone()
    return {"self_pay_count": count, "self_pay_total": total, "self_pay_last_id": end}


def pending_closure(
    ledger: SqliteLedger, day: date, *, at: datetime, opening_float: int = 0
) -> dict[str, Any]:
    """The X report: the figures the closure of `day` would hold if made now (from the last
    closure on, up to `day`), unsigned and written nowhere; `breakdown` as a dict."""
    with ledger.write():  # one snapshot; never committed, so nothing changes
        closure = _next_closure(ledger.conn, day, None, at, opening_float, refuse_closed=False)
    return {**closure, "breakdown": json.loads(closure["breakdown"])}


def _next_closure(
    conn: sqlite3.Connection,
    day: date,
    operator: str | None,
    at: datetime,
    opening_float: int,
    *,
    refuse_closed: bool,
) -> dict[str, Any]:
    """The next closure's fields (all but `hash` and `sig`), covering what follows the last one
    up to the last entry dated `day`."""
    last = conn.execute(
        "SELECT closure_no, setl_date, last_seq, last_hash, hash, self_pay_last_id "
        "FROM closures ORDER BY closure_no DESC LIMIT 1"
    ).fetchone()
    if refuse_closed and last is not None and last[1] >= day.isoformat():
        if last[1] == day.isoformat():
            raise LedgerError(f"{day} is already closed: print it with `medpos report day`")
        raise LedgerError(f"{day} cannot be closed: a later day ({last[1]}) is closed already")
    # the last entry any closure covered (a closure of a day without sales covers none)
    after_seq = conn.execute("SELECT COALESCE(MAX(last_seq), 0) FROM closures").fetchone()[0]
    prev_covered_hash = last[3] if last is not None else GENESIS_HASH
    end = conn.execute(
        "SELECT MAX(seq) FROM txns WHERE seq > ? AND setl_date <= ?",
        (after_seq, day.isoformat()),
    ).fetchone()[0]
    if end is None:
        totals = totals_of((0, 0, None, None, *([0] * len(CLOSURE_MONEY))))
        last_hash = prev_covered_hash
    else:
        totals = totals_of(
            conn.execute(
                signed_amounts_sql("t.seq > ? AND t.seq <= ?"), (after_seq, end)
            ).fetchone()
        )
        last_hash = conn.execute("SELECT hash FROM ledger WHERE seq = ?", (end,)).fetchone()[0]
    self_pay = _self_pay_covered(conn, last[5] if last is not None else None, day)
    closure: dict[str, Any] = {
        "closure_no": (last[0] + 1) if last is not None else 1,
        "setl_date": day.isoformat(),
        "last_hash": last_hash,
        "prev_closure_hash": last[4] if last is not None else GENESIS_HASH,
        "closed_at": at.isoformat(timespec="seconds"),
        "operator": operator,
        **totals,
        **self_pay,
    }
    parts = breakdown(
        conn,
        "t.seq > ? AND t.seq <= ?",
        (after_seq, end or after_seq),
        "s.id > ? AND s.id <= ?",
        ((last[5] or 0) if last is not None else 0, self_pay["self_pay_last_id"]),
        opening_float,
    )
    closure["breakdown"] = canonical_json(parts).decode()
    return closure
