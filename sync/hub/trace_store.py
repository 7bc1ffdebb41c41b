"""The platform's code table (trace-codes.md "To the platform"): who holds a code, storing a
sale's codes and its conflicts, returning codes, the conflicts of a day, and the monthly
partitions on PostgreSQL.

`trace_codes` keeps one row per code and sale; a code's current holder is its newest row whose
status is `sold` or `opened`. On PostgreSQL the table is partitioned by `sold_month` (yyyymm,
range), a partition `trace_codes_yyyymm` a month, made as `sync/hub/months.py` says (ahead of
need, and on demand inside the message's savepoint, by `ATTACH`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from sync.hub import months
from sync.hub import schema as t
from sync.hub import statements as q
from sync.hub.trace_rules import Holder, Plan

__all__ = [
    "conflicts_of_day",
    "ensure_partition",
    "holders",
    "institution_changes",
    "return_codes",
    "store_plan",
]

HOLDING = ("sold", "opened")
_tc = t.trace_codes.c
_HOLDERS = (
    select(
        _tc.code,
        _tc.txn_id,
        _tc.status,
        _tc.remaining,
        _tc.fixmedins_code,
        _tc.dev_no,
        _tc.sold_at,
    )
    .where(and_(_tc.code.in_(bindparam("codes", expanding=True)), _tc.status.in_(HOLDING)))
    .order_by(_tc.code, _tc.sold_at, _tc.txn_id)
)
_PG_HOLDERS = (
    "SELECT code, txn_id, status, remaining, fixmedins_code, dev_no, sold_at FROM trace_codes "
    "WHERE code = ANY(%s) AND status IN ('sold', 'opened') ORDER BY code, sold_at, txn_id"
)
# PostgreSQL: a sale's rows in one statement, as arrays (one round trip, one plan)
_PG_INSERT = (
    "INSERT INTO trace_codes (code, sold_month, txn_id, line, dev_no, fixmedins_code, format, "
    "gtin, trdn_flag, status, remaining, sold_at, changed_at) "
    "SELECT code, %s, %s, line, %s, %s, format, gtin, trdn_flag, status, remaining, %s, %s "
    "FROM unnest(%s::varchar[], %s::int[], %s::varchar[], %s::varchar[], %s::varchar[], "
    "%s::varchar[], %s::bigint[]) AS r(code, line, format, gtin, trdn_flag, status, remaining)"
)
_INSERT_CODE = q.Statement(insert(t.trace_codes))
_INSERT_CONFLICT = insert(t.trace_conflicts)
_RETURN_OF_SALE = (
    update(t.trace_codes)
    .where(
        and_(
            _tc.code.in_(bindparam("codes", expanding=True)),
            _tc.txn_id == bindparam("sale"),
            _tc.status.in_(HOLDING),
        )
    )
    .values(status="returned", changed_at=bindparam("now"))
)
_RETURN_AT = (
    update(t.trace_codes)
    .where(
        and_(
            _tc.code.in_(bindparam("codes", expanding=True)),
            _tc.fixmedins_code == bindparam("inst"),
            _tc.status.in_(HOLDING),
        )
    )
    .values(status="returned", changed_at=bindparam("now"))
)


def holders(conn: Connection, codes: Iterable[str]) -> dict[str, Holder]:
    """The sale holding each of `codes` now, by code: its first sale still `sold` (a conflict
    names the sale that sold it first), else its newest `opened` row (what is left of it)."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    found: dict[str, Holder] = {}
    if conn.dialect.name == "postgresql":  # one array parameter: no statement to expand
        cursor = q.run_sql(conn, _PG_HOLDERS, (wanted,))
        try:
            rows: Any = cursor.fetchall()
        finally:
            cursor.close()
    else:
        rows = conn.execute(_HOLDERS, {"codes": wanted})
    for row in rows:  # by code, oldest first
        held = found.get(row[0])
        if held is None or held.status != "sold":
            found[row[0]] = Holder(*row)
    return found


def store_plan(
    conn: Connection,
    plan: Plan,
    *,
    txn_id: str,
    dev_no: str,
    fixmedins_code: str,
    sold_at: str,
    setl_date: str,
    now: int,
) -> None:
    """Store a sale's codes and the conflicts `plan` found."""
    if not plan.rows:
        return
    month = int(sold_at[:4] + sold_at[5:7])
    ensure_partition(conn, month)
    if conn.dialect.name == "postgresql":
        rows_pg = plan.rows
        args = (
            month,
            txn_id,
            dev_no,
            fixmedins_code,
            sold_at,
            now,
            [r.code for r in rows_pg],
            [r.line for r in rows_pg],
            [r.format for r in rows_pg],
            [r.gtin for r in rows_pg],
            [r.trdn_flag for r in rows_pg],
            [r.status for r in rows_pg],
            [r.remaining for r in rows_pg],
        )
        try:
            q.run_sql(conn, _PG_INSERT, args).close()
        except IntegrityError as exc:
            if "partition" in str(exc.orig):  # created in a savepoint since rolled back
                months.forget(conn, months.TRACE_CODES, str(month))
            raise
        _store_conflicts(conn, plan, txn_id, dev_no, fixmedins_code, setl_date, now)
        return
    rows = [
        {
            "code": r.code,
            "sold_month": month,
            "txn_id": txn_id,
            "line": r.line,
            "dev_no": dev_no,
            "fixmedins_code": fixmedins_code,
            "format": r.format,
            "gtin": r.gtin,
            "trdn_flag": r.trdn_flag,
            "status": r.status,
            "remaining": r.remaining,
            "sold_at": sold_at,
            "changed_at": now,
        }
        for r in plan.rows
    ]
    try:
        if len(rows) == 1:
            _INSERT_CODE.run(conn, rows[0])
        else:
            conn.execute(insert(t.trace_codes), rows)
    except IntegrityError as exc:
        if "partition" in str(exc.orig):  # created in a savepoint since rolled back
            months.forget(conn, months.TRACE_CODES, str(month))
        raise
    _store_conflicts(conn, plan, txn_id, dev_no, fixmedins_code, setl_date, now)


def _store_conflicts(
    conn: Connection,
    plan: Plan,
    txn_id: str,
    dev_no: str,
    fixmedins_code: str,
    setl_date: str,
    now: int,
) -> None:
    if plan.conflicts:
        conn.execute(
            _INSERT_CONFLICT,
            [
                {
                    "code": c.code,
                    "second_txn_id": txn_id,
                    "first_txn_id": c.first.txn_id,
                    "first_fixmedins_code": c.first.fixmedins_code,
                    "first_dev_no": c.first.dev_no,
                    "second_fixmedins_code": fixmedins_code,
                    "second_dev_no": dev_no,
                    "hours_between": c.hours_between,
                    "severity": c.severity,
                    "setl_date": setl_date,
                    "found_at": now,
                }
                for c in plan.conflicts
            ],
        )


def return_codes(
    conn: Connection,
    codes: Sequence[str],
    now: int,
    *,
    txn_id: str | None = None,
    fixmedins_code: str | None = None,
) -> int:
    """Mark `codes` returned: those of sale `txn_id`, or (a 3505 refund, which does not name its
    sale) those the institution `fixmedins_code` holds. How many rows changed."""
    if not codes:
        return 0
    if txn_id is not None:
        result = conn.execute(_RETURN_OF_SALE, {"codes": list(codes), "sale": txn_id, "now": now})
    else:
        result = conn.execute(
            _RETURN_AT, {"codes": list(codes), "inst": fixmedins_code, "now": now}
        )
    return int(result.rowcount or 0)


def conflicts_of_day(
    conn: Connection, day: str, *, dev_no: str | None = None
) -> list[dict[str, Any]]:
    """The conflicts whose second sale is dated `day` (of device `dev_no` on either side)."""
    c = t.trace_conflicts.c
    cond = c.setl_date == day
    if dev_no is not None:
        cond = and_(cond, or_(c.first_dev_no == dev_no, c.second_dev_no == dev_no))
    rows = conn.execute(
        select(
            c.code,
            c.first_txn_id,
            c.first_fixmedins_code,
            c.second_txn_id,
            c.second_fixmedins_code,
            c.hours_between,
            c.severity,
        )
        .where(cond)
        .order_by(c.found_at, c.code, c.second_txn_id)
    )
    return [dict(row._mapping) for row in rows]


def institution_changes(
    conn: Connection, fixmedins_code: str, dev_no: str, since: int | None, until: int
) -> list[dict[str, Any]]:
    """`{"code", "status", "remaining"?}` of each code whose row at the institution's other
    devices changed in (`since`, `until`]: the code's newest such row."""
    cond = and_(
        _tc.fixmedins_code == fixmedins_code,
        _tc.dev_no != dev_no,
        _tc.changed_at <= until,
    )
    if since is not None:
        cond = and_(cond, _tc.changed_at > since)
    rows = conn.execute(
        select(_tc.code, _tc.status, _tc.remaining)
        .where(cond)
        .order_by(_tc.code, _tc.sold_at, _tc.txn_id)
    )
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry: dict[str, Any] = {"code": row.code, "status": row.status}
        if row.status == "opened" and row.remaining is not None:
            entry["remaining"] = int(row.remaining)
        latest[row.code] = entry
    return list(latest.values())


def ensure_partition(conn: Connection, month: int) -> None:
    """PostgreSQL: the partition of `month` (yyyymm) is attached (in this transaction when it
    was not). Nothing on SQLite, where the table is one plain table."""
    months.ensure(conn, months.TRACE_CODES, str(month))
