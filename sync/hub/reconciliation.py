"""A device's day reconciled with the platform's record (platform-api.md "3201 totals
reconciliation", "3202 detail reconciliation"): the split the platform kept for each entry; the
3202 answer also lists the day's trace conflicts the device is a side of (trace-codes.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, and_, select

from sync.hub import schema as t
from sync.hub._common import amount, need
from sync.hub.trace_store import conflicts_of_day
from sync.protocol.upload import RECONCILED_AMOUNTS
from terminal.settlement.money import format_fen

__all__ = ["detail", "totals"]


def _day_rows(conn: Connection, dev_no: str, day: str) -> list[Any]:
    return list(
        conn.execute(
            select(t.entries).where(
                and_(t.entries.c.dev_no == dev_no, t.entries.c.setl_date == day)
            )
        )
    )


def totals(conn: Connection, dev_no: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """3201: the day's count and amounts as the platform has them, and whether they agree."""
    day = need(data, "setl_date", str)
    count, sums = 0, dict.fromkeys(RECONCILED_AMOUNTS, 0)
    for row in _day_rows(conn, dev_no, day):
        if row.status not in ("accepted", "adjusted") or not row.kept:
            continue
        count += -1 if row.kind == "reversal" else 1
        for k, v in json.loads(row.kept).items():
            sums[k] += amount(v) or 0
    platform = {"setl_date": day, "count": count, **{k: format_fen(v) for k, v in sums.items()}}
    terminal = {k: data.get(k) for k in ("count", *RECONCILED_AMOUNTS)}
    same = terminal["count"] == count and all(
        amount(terminal[k]) == sums[k] for k in RECONCILED_AMOUNTS
    )
    return {"stmt_rslt": "0" if same else "1", "platform": platform}


def detail(conn: Connection, dev_no: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """3202: the day's entries only one side has, and those whose status or amounts differ."""
    day = need(data, "setl_date", str)
    sales = need(data, "sales", list)
    theirs: dict[str, Mapping[str, Any]] = {
        s["txn_id"]: s for s in sales if isinstance(s, Mapping) and isinstance(s.get("txn_id"), str)
    }
    ours = {row.txn_id: row for row in _day_rows(conn, dev_no, day)}
    different = []
    for txn_id in sorted(set(theirs) & set(ours)):
        row, sale = ours[txn_id], theirs[txn_id]
        if sale.get("status") != row.status:
            different.append(
                {
                    "txn_id": txn_id,
                    "field": "status",
                    "terminal": sale.get("status"),
                    "platform": row.status,
                }
            )
            continue
        if row.status in ("accepted", "adjusted") and row.kept:
            for k, v in json.loads(row.kept).items():
                if amount(sale.get(k)) != amount(v):
                    different.append(
                        {"txn_id": txn_id, "field": k, "terminal": sale.get(k), "platform": v}
                    )
    visits = [
        {"txn_id": txn_id, **json.loads(row.visit)}
        for txn_id, row in sorted(ours.items())
        if getattr(row, "visit", None)
    ]
    return {
        "only_terminal": sorted(set(theirs) - set(ours)),
        "only_platform": sorted(str(k) for k in set(ours) - set(theirs)),
        "different": different,
        "visits": visits,  # his-api.md: the hospital visit each of the day's entries settled
        # the day's trace conflicts this device is a side of (trace-codes.md): no money
        # difference, listed for the pharmacist to look at the packages
        "trace_conflicts": conflicts_of_day(conn, day, dev_no=dev_no),
    }
