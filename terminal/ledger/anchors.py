"""The anchors `ledger verify` checks beyond the chains themselves (docs/core.md "The journal").

- The closures: numbered 1, 2, … without gaps, ending at the closure recorded as the last one
  signed, and each covering exactly the sales, reversals and self-pay sales of its days (its
  range starts right after the previous closure's, its counts and sums are those of the rows, and
  the first row after it is dated after its day, or was made after the closure was signed: a sale
  made after its day's closure was possible before time was checked to run forward). A closure
  with a `breakdown` (since m0007) matches the payments of the sales it covers (`sale_tenders`).
- The platform (`verify_platform`): the hash each acknowledgement was given for, and the
  platform's chain head from the last acknowledgement, against the local sales chain. Someone
  holding the database and the device key can re-sign anything local; what the platform
  acknowledged is the anchor outside the terminal.
"""

from __future__ import annotations

import json
from typing import Any

from sync.protocol.canonical import canonical_json
from terminal.ledger.closures import (
    CLOSURE_MONEY,
    SELF_PAY_FIELDS,
    SELF_PAY_SUMS,
    closure_head_fault,
    signed_amounts_sql,
    totals_of,
)
from terminal.ledger.store import SqliteLedger
from terminal.ledger.tenders import breakdown

__all__ = ["closure_faults", "platform_faults"]


def closure_faults(ledger: SqliteLedger) -> tuple[str, str] | None:
    """`(anchor, problem)` of the first closure that is missing or does not cover its sales."""
    conn = ledger.conn
    after_seq, after_self_pay = 0, 0
    expected = 1
    rows = ledger.query("SELECT * FROM closures ORDER BY closure_no")
    for row in rows:
        c = dict(row)
        start = (after_seq, after_self_pay)
        where = f"closure {c['closure_no']} ({c['setl_date']})"
        if c["closure_no"] != expected:
            return where, f"closure {expected} is missing: closures were deleted or renumbered"
        expected += 1
        if c["last_seq"] is not None:
            found = totals_of(
                conn.execute(
                    signed_amounts_sql("t.seq > ? AND t.seq <= ?"), (after_seq, c["last_seq"])
                ).fetchone()
            )
            keys = ("sale_count", "reversal_count", "first_seq", "last_seq", *CLOSURE_MONEY)
            different = [k for k in keys if found[k] != c[k]]
            if different:
                return where, (
                    f"does not match the sales it covers (entries {after_seq + 1} to "
                    f"{c['last_seq']}): {', '.join(different)} differ"
                )
            after_seq = c["last_seq"]
        signed_at = str(c["closed_at"])[:19].replace("T", " ")
        later = conn.execute(
            "SELECT seq, setl_date, settled_at FROM txns WHERE seq > ? ORDER BY seq LIMIT 1",
            (after_seq,),
        ).fetchone()
        if later is not None and later[1] <= c["setl_date"] and later[2] < signed_at:
            return where, f"entry {later[0]} is dated {later[1]} but the closure does not cover it"
        if all(c.get(k) is not None for k in SELF_PAY_FIELDS):
            count, total = conn.execute(
                SELF_PAY_SUMS + "WHERE id > ? AND id <= ?", (after_self_pay, c["self_pay_last_id"])
            ).fetchone()
            if (count, total) != (c["self_pay_count"], c["self_pay_total"]):
                return where, (
                    f"does not match the self-pay sales it covers (ids {after_self_pay + 1} to "
                    f"{c['self_pay_last_id']}): count {count}, total {total} fen"
                )
            after_self_pay = c["self_pay_last_id"]
            later = conn.execute(
                "SELECT id, setl_date, settled_at FROM self_pay_sales WHERE id > ? "
                "ORDER BY id LIMIT 1",
                (after_self_pay,),
            ).fetchone()
            if later is not None and later[1] <= c["setl_date"] and later[2] < signed_at:
                return where, (
                    f"self-pay sale {later[0]} is dated {later[1]} but the closure does not "
                    "cover it"
                )
        if c.get("breakdown") is not None and _breakdown_of(conn, c, start) != c["breakdown"]:
            return where, (
                "does not match the payments of the sales it covers (by method or cashier): "
                "how those sales were paid was changed after the closure was signed"
            )
    fault = closure_head_fault(conn)
    if fault is not None:
        return "closures", fault
    return None


def _breakdown_of(conn: Any, c: dict[str, Any], start: tuple[int, int]) -> str:
    """The canonical breakdown text of the rows closure `c` covers, with its own float."""
    float_fen = json.loads(c["breakdown"])["drawer"]["float"]
    found = breakdown(
        conn,
        "t.seq > ? AND t.seq <= ?",
        (start[0], c["last_seq"] if c["last_seq"] is not None else start[0]),
        "s.id > ? AND s.id <= ?",
        (start[1], c["self_pay_last_id"]),
        float_fen,
    )
    return canonical_json(found).decode()


def platform_faults(ledger: SqliteLedger) -> tuple[int, str] | None:
    """`(seq, problem)` of the first difference between the local sales chain and what the
    platform acknowledged (each acknowledgement's hash, the platform's chain head), or None."""
    conn = ledger.conn
    local = dict(conn.execute("SELECT seq, hash FROM ledger").fetchall())
    faults: list[tuple[int, str]] = []
    for seq, txn_id, digest in conn.execute(
        "SELECT seq, txn_id, hash FROM acks WHERE hash IS NOT NULL ORDER BY seq"
    ):
        if seq not in local:
            faults.append((seq, f"{txn_id} was acknowledged by the platform but is not here"))
            break
        if local[seq] != digest:
            faults.append(
                (
                    seq,
                    f"the platform acknowledged hash {digest[:16]}…, this entry has "
                    f"{local[seq][:16]}…: the entry was changed after it was uploaded",
                )
            )
            break
    head = conn.execute("SELECT value FROM meta WHERE key = 'platform_head'").fetchone()
    if head is not None:
        platform: dict[str, Any] = json.loads(head[0])
        seq = platform["seq"]
        if seq > 0 and seq not in local:
            last = max(local, default=0)
            faults.append(
                (
                    last + 1,
                    f"the platform's chain head is seq {seq} but this chain ends at seq {last}: "
                    "entries were cut off, or the database is an older copy",
                )
            )
        elif seq > 0 and local[seq] != platform["hash"]:
            faults.append(
                (seq, f"the platform's chain head (seq {seq}) has another hash than this entry")
            )
    return min(faults) if faults else None
