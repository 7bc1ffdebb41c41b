"""Self-pay sales (自费): a basket the customer pays in full, no insurance (DESIGN.md "Persons and
accumulators": a person the terminal cannot settle "may sell for cash").

Not an insurance settlement, so nothing here touches the sales chain (`txns`, `ledger`), the
outbox, the persons or their accumulators, and nothing is uploaded to the platform. A sale, its
lines and its audit record are written in one unit of work; a basket sold before (the same
`basket_id`) gives back that sale and writes nothing.

A refund is a row of its own, as a reversal is in the sales chain: the sale's lines and total
negated, `orig_id` the sale's id, its own id `<dev_no>-S<n>` from the same sequence. So a sum of
`total` over any range of ids is the net takings, and one sale has at most one refund (UNIQUE).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from terminal.errors import CheckoutError, LedgerError
from terminal.ledger import journal
from terminal.ledger.guards import time_refusal
from terminal.ledger.store import SqliteLedger, translate_sqlite_error
from terminal.ledger.tenders import TenderRow, mirror_tenders, write_tenders
from terminal.ledger.unit import WriteUnit
from terminal.settlement.money import format_fen

__all__ = [
    "SelfPayLine",
    "SelfPayRecord",
    "get_self_pay",
    "record_self_pay",
    "refund_self_pay",
    "refund_self_pay_part",
]

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
    reason: str  # a sale: why insurance was not used (a code); a refund: the supervisor's words
    lines: tuple[SelfPayLine, ...]  # a refund's: the sale's, amounts negated
    orig_self_pay_id: str | None = None  # a refund: the refunded sale's id; None for a sale

    @property
    def is_refund(self) -> bool:
        return self.orig_self_pay_id is not None


def record_self_pay(
    ledger: SqliteLedger,
    *,
    basket_id: str,
    at: datetime,
    operator: str | None,
    payment_method: str,
    reason: str,
    lines: Sequence[SelfPayLine],
    tenders: Sequence[TenderRow] | None = None,
    trace: Callable[[WriteUnit, str], None] | None = None,
) -> tuple[SelfPayRecord, bool]:
    """Write a self-pay sale, how it was paid (`tenders`; None: all by `payment_method`) and
    its audit record; `(the sale, True)`, or `(the sale made before for this basket, False)`
    with nothing written. `trace(unit, self_pay_id)` writes the sale's traceability codes in the
    same unit (and may raise: nothing is then written)."""
    with ledger.write() as unit:
        conn = ledger.conn
        done = _read(conn, "s.basket_id = ?", basket_id)
        if done is not None:
            return done, False
        _check_time(ledger, at)
        sale_id, self_pay_id = _insert(
            ledger, basket_id, at, operator, payment_method, reason, lines, orig_id=None
        )
        if trace is not None:
            trace(unit, self_pay_id)
        total = sum(line.amount for line in lines)
        if tenders is None:
            tenders = [(payment_method, total, None)] if total else []
        write_tenders(conn, self_pay_id, tenders)
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
        sale = _read(conn, "s.id = ?", sale_id)
        unit.commit()
    assert sale is not None
    return sale, True


def refund_self_pay(
    ledger: SqliteLedger,
    self_pay_id: str,
    *,
    at: datetime,
    operator: str,
    reason: str,
    trace: Callable[[WriteUnit, SelfPayRecord, str], None] | None = None,
) -> SelfPayRecord:
    """Write the full refund of self-pay sale `self_pay_id` and its audit record; a refund, or a
    sale refunded before, is refused with a `LedgerError` saying so. `trace(unit, sale,
    refund_id)` gives the sale's codes back in the same unit."""
    with ledger.write() as unit:
        refund_id = _refund(
            ledger, unit, self_pay_id, at=at, operator=operator, reason=reason, trace=trace
        )
        refund = _read(ledger.conn, "s.id = ?", refund_id)
        unit.commit()
    assert refund is not None
    return refund


def refund_self_pay_part(
    ledger: SqliteLedger,
    self_pay_id: str,
    *,
    at: datetime,
    operator: str,
    reason: str,
    kept: Sequence[SelfPayLine],
    trace: Callable[[WriteUnit, SelfPayRecord, str], None] | None = None,
) -> tuple[SelfPayRecord, SelfPayRecord]:
    """A partial self-pay refund (docs/core.md "Partial refunds"): the full refund of the sale
    and a new self-pay sale of the `kept` lines, in one unit; `(the refund, the kept sale)`.
    `trace` as `refund_self_pay`'s (it may refuse: nothing is then written)."""
    with ledger.write() as unit:
        refund_id = _refund(
            ledger, unit, self_pay_id, at=at, operator=operator, reason=reason, trace=trace
        )
        refund = _read(ledger.conn, "s.id = ?", refund_id)
        assert refund is not None
        kept_id, kept_self_pay_id = _insert(
            ledger,
            f"kept#{self_pay_id}",  # `#` is in no basket id; one refund per sale: one kept sale
            at,
            operator,
            refund.payment_method,
            "partial_refund",
            kept,
            orig_id=None,
        )
        kept_total = sum(line.amount for line in kept)
        # the kept sale is paid by the sale's method (the refund gave back what was paid)
        write_tenders(
            ledger.conn,
            kept_self_pay_id,
            [(refund.payment_method, kept_total, None)] if kept_total else [],
        )
        unit.audit(
            "self_pay",
            operator,
            {
                "self_pay_id": kept_self_pay_id,
                "kept_of": self_pay_id,
                "total": format_fen(sum(line.amount for line in kept)),
                "reason": "partial_refund",
            },
            at,
        )
        sale = _read(ledger.conn, "s.id = ?", kept_id)
        unit.commit()
    assert sale is not None
    return refund, sale


def _refund(
    ledger: SqliteLedger,
    unit: WriteUnit,
    self_pay_id: str,
    *,
    at: datetime,
    operator: str,
    reason: str,
    trace: Callable[[WriteUnit, SelfPayRecord, str], None] | None = None,
) -> int:
    """Write the full refund of `self_pay_id` and its audit record in `unit` (`trace(unit,
    sale, refund_id)` gives its codes back); its row id."""
    conn = ledger.conn
    _check_time(ledger, at)
    sale = _read(conn, "s.self_pay_id = ?", self_pay_id)
    if sale is None:
        raise LedgerError(f"no self-pay sale {self_pay_id} on this terminal: check the receipt")
    if sale.orig_self_pay_id is not None:
        raise LedgerError(
            f"{self_pay_id} is itself the refund of {sale.orig_self_pay_id} and cannot be "
            "refunded: sell the items again instead"
        )
    done = conn.execute(
        "SELECT self_pay_id FROM self_pay_sales WHERE orig_id = ?", (sale.id,)
    ).fetchone()
    if done is not None:
        raise LedgerError(
            f"{self_pay_id} was already refunded by {done[0]}: nothing is left to give back"
        )
    negated = [
        SelfPayLine(line.code, line.name, line.qty, line.price, -line.amount) for line in sale.lines
    ]
    refund_id, refund_self_pay_id = _insert(
        ledger,
        f"refund#{self_pay_id}",  # `#` is in no basket id: no basket is ever taken for it
        at,
        operator,
        sale.payment_method,
        reason,
        negated,
        orig_id=sale.id,
    )
    mirror_tenders(conn, refund_self_pay_id, self_pay_id)
    if trace is not None:
        trace(unit, sale, refund_self_pay_id)
    unit.audit(
        "self_pay_refund",
        operator,
        {
            "self_pay_id": refund_self_pay_id,
            "orig_self_pay_id": self_pay_id,
            "total": format_fen(-sale.total),
            "reason": reason,
        },
        at,
    )
    return refund_id


def _check_time(ledger: SqliteLedger, at: datetime) -> None:
    """Time runs forward (`guards.time_refusal`): raise the refusal as a `CheckoutError`."""
    refused = time_refusal(ledger, at)
    if refused is not None:
        raise CheckoutError(*refused)


def get_self_pay(ledger: SqliteLedger, self_pay_id: str) -> SelfPayRecord | None:
    """The stored self-pay sale `self_pay_id`, or None."""
    try:
        return _read(ledger.conn, "s.self_pay_id = ?", self_pay_id)
    except sqlite3.Error as exc:
        raise translate_sqlite_error(exc, ledger.path) from exc


def _insert(
    ledger: SqliteLedger,
    basket_id: str,
    at: datetime,
    operator: str | None,
    payment_method: str,
    reason: str,
    lines: Sequence[SelfPayLine],
    *,
    orig_id: int | None,
) -> tuple[int, str]:
    """Insert one row and its lines (in the caller's unit of work); `(id, self_pay_id)`."""
    conn = ledger.conn
    sale_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM self_pay_sales").fetchone()[0]
    self_pay_id = f"{ledger.dev_no}-S{sale_id}"
    values = (
        sale_id,
        self_pay_id,
        basket_id,
        at.isoformat(" ", "seconds")[:19],
        at.date().isoformat(),
        operator,
        payment_method,
        sum(line.amount for line in lines),
        reason,
        orig_id,
    )
    columns = (*_SALE_COLUMNS, "orig_id")
    conn.execute(
        f"INSERT INTO self_pay_sales ({', '.join(columns)}) "  # noqa: S608 - fixed column names
        f"VALUES ({', '.join('?' * len(columns))})",
        values,
    )
    conn.executemany(
        "INSERT INTO self_pay_lines (sale_id, line_no, code, name, qty, price, amount) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (sale_id, i, line.code, line.name, line.qty, line.price, line.amount)
            for i, line in enumerate(lines)
        ],
    )
    journal.append(conn, ledger.key, "self_pay", sale_id)
    return sale_id, self_pay_id


def _read(conn: sqlite3.Connection, where: str, value: object) -> SelfPayRecord | None:
    row = conn.execute(
        f"SELECT {', '.join('s.' + c for c in _SALE_COLUMNS)}, o.self_pay_id "  # noqa: S608
        "FROM self_pay_sales s LEFT JOIN self_pay_sales o ON o.id = s.orig_id "
        f"WHERE {where}",
        (value,),
    ).fetchone()
    if row is None:
        return None
    lines = conn.execute(
        "SELECT code, name, qty, price, amount FROM self_pay_lines WHERE sale_id = ? "
        "ORDER BY line_no",
        (row[0],),
    ).fetchall()
    sale = dict(zip(_SALE_COLUMNS, row[:-1], strict=True))
    return SelfPayRecord(
        **sale, lines=tuple(SelfPayLine(*line) for line in lines), orig_self_pay_id=row[-1]
    )
