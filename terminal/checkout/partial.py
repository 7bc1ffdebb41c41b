"""A partial refund's arithmetic (docs/core.md "Partial refunds"): from the lines a sale sold and
the quantities a supervisor gives back, the basket the customer keeps. Pure: no ledger, no clock.

The national practice does not "refund a line": it reverses the whole settlement and settles again
what the customer keeps, so the fund, the account and the deductible come out as if only the kept
lines had been sold. This module decides only what is kept; `terminal/checkout/refunding.py`
commits the reversal and the new sale in one unit of work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from terminal.errors import CheckoutError

__all__ = ["RefundPlan", "SoldLine", "parse_refund_lines", "plan_refund"]


@dataclass(frozen=True, slots=True)
class SoldLine:
    """A line of the sale as stored: number, code, quantity and price as the claim gave them."""

    line_no: int
    code: str
    qty: str
    price: str


@dataclass(frozen=True, slots=True)
class RefundPlan:
    """What is given back (`(line_no, code, qty)`) and the basket kept (claim lines, in the
    sale's order; empty when everything is given back: a full refund)."""

    refunded: tuple[tuple[int, str, str], ...]
    kept: tuple[dict[str, str], ...]

    @property
    def full(self) -> bool:
        return not self.kept


def _qty(text: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise CheckoutError("bad_refund", f"{where}: {text!r} is not a quantity") from None
    if not value.is_finite() or value < 0:
        raise CheckoutError("bad_refund", f"{where}: the quantity must be 0 or more")
    if value.as_tuple().exponent < -4:  # type: ignore[operator]  # finite: an int exponent
        raise CheckoutError("bad_refund", f"{where}: at most four decimal places")
    return value


def _text(value: Decimal) -> str:
    """A quantity as a claim writes it: "2", "1.5" (no exponent, no trailing zeros)."""
    text = format(value.normalize(), "f")
    return text


def plan_refund(sold: Sequence[SoldLine], give_back: Mapping[int, str]) -> RefundPlan:
    """The plan of giving back `give_back` (line_no → quantity text) of the `sold` lines.

    Refused with a message: an unknown line, a bad or negative quantity, more than was sold,
    nothing given back at all."""
    by_no = {line.line_no: line for line in sold}
    unknown = sorted(n for n in give_back if n not in by_no)
    if unknown:
        raise CheckoutError(
            "bad_refund", f"line {unknown[0] + 1} is not a line of this sale: choose its lines"
        )
    refunded: list[tuple[int, str, str]] = []
    kept: list[dict[str, str]] = []
    for line in sold:
        where = f"line {line.line_no + 1} ({line.code})"
        sold_qty = Decimal(line.qty)
        back = _qty(give_back.get(line.line_no, "0"), where)
        if back > sold_qty:
            raise CheckoutError(
                "bad_refund",
                f"{where}: {_text(back)} given back but {_text(sold_qty)} sold: give back at most "
                "what was sold",
            )
        if back > 0:
            refunded.append((line.line_no, line.code, _text(back)))
        if sold_qty - back > 0:
            kept.append({"code": line.code, "qty": _text(sold_qty - back), "price": line.price})
    if not refunded:
        raise CheckoutError(
            "bad_refund", "nothing is given back: enter the quantity returned of at least one line"
        )
    return RefundPlan(tuple(refunded), tuple(kept))


def parse_refund_lines(text: str) -> dict[int, str]:
    """`"1:2,3:0.5"` (line number from 1, a colon, the quantity given back) → {line_no: qty},
    as `medpos sale refund --lines` takes it."""
    out: dict[int, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        number, sep, qty = part.partition(":")
        if not sep or not number.strip().isdigit() or int(number) < 1:
            raise CheckoutError(
                "bad_refund", f"{part!r}: write LINE:QTY, the line numbered from 1 (e.g. 1:2,3:1)"
            )
        line_no = int(number) - 1
        if line_no in out:
            raise CheckoutError("bad_refund", f"line {number} is given twice")
        out[line_no] = qty.strip()
    return out
