"""How each sale was paid (`sale_tenders`, migration m0007) and the figures a day-end and an X
report show by payment method and by operator (issue 13; docs/core.md "Tender and change").

Every sale and refund the person pays anything for has one row per method (`amount` fen, a
refund's negated; `given`: the cash handed over, on the cash row). The rows are written in the
sale's own unit of work: `write_tenders` is one small INSERT on the commit path.

`breakdown` sums the rows of a range of the sales chain and of the self-pay sales (the ranges a
closure covers, or a day's): by method (in and out), by operator (sales, refunds, in, out, cash),
the self-pay sales and refunds gross, and the cash drawer expected (the opening float plus cash
in minus cash given back).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

__all__ = ["breakdown", "mirror_tenders", "read_tenders", "write_tenders"]

TenderRow = tuple[str, int, int | None]  # (method, amount fen, cash given or None)

_METHODS = ("cash", "bank_card", "mobile")
_GROSS = ("sales", "sales_total", "refunds", "refunds_total")


def write_tenders(conn: sqlite3.Connection, sale_id: str, rows: Sequence[TenderRow]) -> None:
    """Store the parts of sale `sale_id` (in the caller's unit of work); none: nothing to write."""
    if rows:
        conn.execute(
            "INSERT INTO sale_tenders (sale_id, method, amount, given) VALUES "
            + ", ".join(["(?, ?, ?, ?)"] * len(rows)),
            [v for row in rows for v in (sale_id, *row)],
        )


def mirror_tenders(conn: sqlite3.Connection, refund_id: str, orig_id: str) -> None:
    """A full refund's parts: the original's, negated (money back the way it came)."""
    conn.execute(
        "INSERT INTO sale_tenders (sale_id, method, amount) "
        "SELECT ?, method, -amount FROM sale_tenders WHERE sale_id = ?",
        (refund_id, orig_id),
    )


def read_tenders(conn: sqlite3.Connection, sale_id: str) -> list[TenderRow]:
    """The parts of `sale_id` in method order: `(method, amount, given)`."""
    rows = conn.execute(
        "SELECT method, amount, given FROM sale_tenders WHERE sale_id = ?", (sale_id,)
    ).fetchall()
    return sorted(((m, a, g) for m, a, g in rows), key=lambda r: _METHODS.index(r[0]))


def breakdown(
    conn: sqlite3.Connection,
    txn_where: str,
    txn_params: Sequence[Any],
    self_pay_where: str,
    self_pay_params: Sequence[Any],
    opening_float: int,
) -> dict[str, Any]:
    """The figures by method and operator of the sales chain's rows `t` matching `txn_where` and
    the self-pay rows `s` matching `self_pay_where` (fixed SQL text from the callers)."""
    params = [*txn_params, *self_pay_params]
    methods = {m: {"in": 0, "out": 0} for m in _METHODS}
    operators: dict[str, dict[str, int]] = {}

    def who(name: str | None) -> dict[str, int]:
        return operators.setdefault(
            name or "", {"sales": 0, "refunds": 0, "in": 0, "out": 0, "cash": 0}
        )

    for method, operator, paid_in, paid_out in conn.execute(
        "WITH p AS ("
        "SELECT st.method, st.amount, t.operator FROM txns t "
        f"JOIN sale_tenders st ON st.sale_id = t.txn_id WHERE {txn_where} "
        "UNION ALL SELECT st.method, st.amount, s.operator FROM self_pay_sales s "
        f"JOIN sale_tenders st ON st.sale_id = s.self_pay_id WHERE {self_pay_where}) "
        "SELECT method, operator, SUM(MAX(amount, 0)), SUM(MAX(-amount, 0)) FROM p "
        "GROUP BY method, operator",
        params,
    ):
        methods[method]["in"] += paid_in
        methods[method]["out"] += paid_out
        row = who(operator)
        row["in"] += paid_in
        row["out"] += paid_out
        if method == "cash":
            row["cash"] += paid_in - paid_out
    for operator, sales, refunds in conn.execute(
        "WITH k AS ("
        f"SELECT t.operator, t.kind = 'sale' AS sale FROM txns t WHERE {txn_where} "
        "UNION ALL SELECT s.operator, s.orig_id IS NULL FROM self_pay_sales s "
        f"WHERE {self_pay_where}) "
        "SELECT operator, SUM(sale), SUM(1 - sale) FROM k GROUP BY operator",
        params,
    ):
        row = who(operator)
        row["sales"] += sales
        row["refunds"] += refunds
    gross = conn.execute(
        "SELECT COUNT(CASE WHEN s.orig_id IS NULL THEN 1 END), "
        "COALESCE(SUM(CASE WHEN s.orig_id IS NULL THEN s.total END), 0), "
        "COUNT(s.orig_id), COALESCE(-SUM(CASE WHEN s.orig_id IS NOT NULL THEN s.total END), 0) "
        f"FROM self_pay_sales s WHERE {self_pay_where}",
        self_pay_params,
    ).fetchone()
    cash = methods["cash"]
    return {
        "methods": methods,
        "operators": dict(sorted(operators.items())),
        "self_pay": dict(
            zip(("sales", "sales_total", "refunds", "refunds_total"), gross, strict=True)
        ),
        "drawer": {
            "float": opening_float,
            "cash_in": cash["in"],
            "cash_out": cash["out"],
            "expected": opening_float + cash["in"] - cash["out"],
        },
    }
