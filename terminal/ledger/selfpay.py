"""Self-pay sales (自费): a basket the customer pays in full, no insurance (DESIGN.md "Persons and
accumulators": a person the terminal cannot settle "may sell for cash").

Not an insurance settlement, so nothing here touches the sales chain (`txns`, `ledger`), the
outbox, the persons or their accumulators, and nothing is uploaded to the platform. A sale, its
lines and its audit record are written in one unit of work; a basket sold before (the same
`basket_id`) gives back that sale and writes nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from terminal.ledger.store import SqliteLedger, translate_sqlite_error
from terminal.settlement.money import format_fen

__all__ = ["SelfPayLine", "SelfPayRecord", "get_self_pay", "record_self_pay"]

_SALE_COLUMNS = (
    "id",
    "self_pay_id",
    "basket_id",
    "settled_at",
    "setl_date",
    "operator",
    "payment_method",
    "total",
    "reason",
)


@dataclass(frozen=True, slots=True)
class SelfPayLine:
    """One line: `qty` and `price` as the basket gave them (decimal text), `amount` in fen."""

    code: str
    name: str | None
    qty: str
    price: str
    amount: int


@dataclass(frozen=True, slots=True)
class SelfPayRecord:
    """A self-pay sale as stored."""

    id: int
    self_pay_id: str  # `<dev_no>-S<id>`: never a `txn_id` of the sales chain (`<dev_no>-<seq>`)
    basket_id: str
    settled_at: str  # `YYYY-MM-DD HH:MM:SS` in the region's time zone, as `txns.settled_at`
    setl_date: str
    operator: str | None
    payment_method: str
    total: int
    reason: str
    lines: tuple[SelfPayLine, ...]


def record_self_pay(
    ledger: SqliteLedger,
    *,
    basket_id: str,
    at: datetime,
    operator: str | None,
    payment_method: str,
    reason: str,
    lines: Sequence[SelfPayLine],
) -> tuple[SelfPayRecord, bool]:
    """Write a self-pay sale and its audit record; `(the sale, True)`, or `(the sale made
    before for this basket, False)` with nothing written."""
    with ledger.write() as unit:
        conn = ledger.conn
        done = _read(conn, "basket_id = ?", basket_id)
        if done is not None:
            return done, False
        sale_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM self_pay_sales").fetchone()[0]
        self_pay_id = f"{ledger.dev_no}-S{sale_id}"
        total = sum(line.amount for line in lines)
        conn.execute(
            f"INSERT INTO self_pay_sales ({', '.join(_SALE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_SALE_COLUMNS))})",
            (
                sale_id,
                self_pay_id,
                basket_id,
                at.isoformat(" ", "seconds")[:19],
                at.date().isoformat(),
                operator,
                payment_method,
                total,
                reason,
            ),
        )
        conn.executemany(
            "INSERT INTO self_pay_lines (sale_id, line_no, code, name, qty, price, amount) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (sale_id, i, line.code, line.name, line.qty, line.price, line.amount)
                for i, line in enumerate(lines)
            ],
        )
        unit.audit(
            "self_pay",
            operator,
            {
                "self_pay_id": self_pay_id,
                "basket_id": basket_id,
                "total": format_fen(total),
                "payment_method": payment_method,
                "reason": reason,
            },
            at,
        )
        sale = _read(conn, "id = ?", sale_id)
    assert sale is not None
    return sale, True


def get_self_pay(ledger: SqliteLedger, self_pay_id: str) -> SelfPayRecord | None:
    """The stored self-pay sale `self_pay_id`, or None."""
    try:
        return _read(ledger.conn, "self_pay_id = ?", self_pay_id)
    except sqlite3.Error as exc:
        raise translate_sqlite_error(exc, ledger.path) from exc


def _read(conn: sqlite3.Connection, where: str, value: object) -> SelfPayRecord | None:
    row = conn.execute(
        f"SELECT {', '.join(_SALE_COLUMNS)} FROM self_pay_sales WHERE {where}", (value,)
    ).fetchone()
    if row is None:
        return None
    lines = conn.execute(
        "SELECT code, name, qty, price, amount FROM self_pay_lines WHERE sale_id = ? "
        "ORDER BY line_no",
        (row[0],),
    ).fetchall()
    sale = dict(zip(_SALE_COLUMNS, row, strict=True))
    return SelfPayRecord(**sale, lines=tuple(SelfPayLine(*line) for line in lines))
