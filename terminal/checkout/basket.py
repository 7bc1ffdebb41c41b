"""The counter's basket: its lines, how the cashier edits them, and what a scanned line means.

Plain functions over the list of `Line`s the counter holds (docs/ui.md "The counter"): quantities
and prices as the cashier types them are read here (`Decimal` from the text, never a float), the
same catalogue item scanned again adds to its line, and a barcode the catalogue does not know is
kept as a self-pay line that needs a price. The basket as a claim gives (`basket_items`) is what
`CheckoutService.quote` and `sell` take.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from terminal.errors import CheckoutError
from terminal.settlement.model import Catalogue

__all__ = [
    "MED_TYPES",
    "CatalogueSearch",
    "Line",
    "add_item",
    "basket_items",
    "item_view",
    "is_barcode",
    "line_at",
    "mask_cert",
    "needs_price",
    "remove_line",
    "scanned_qty",
    "set_line_name",
    "set_line_price",
    "set_line_qty",
]

MED_TYPES = ("41", "11", "14", "21")  # pharmacy, outpatient, chronic outpatient, inpatient
_BARCODE = re.compile(r"\d{8}|\d{12,14}")
_QTY = re.compile(r"[*x×]\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
_MAX_NUMBER = 100000  # a quantity or price (yuan) above this is a slip of the finger


def mask_cert(psn_cert: str) -> str:
    """An ID number as screens and receipts show it: region and last four characters."""
    return f"{psn_cert[:6]}********{psn_cert[-4:]}" if len(psn_cert) > 10 else "****"


@dataclass
class Line:
    """A basket line; `known` False: not in the catalogue, a self-pay line that needs a price."""

    code: str
    name: str
    qty: str = "1"
    price: str | None = None
    category: str = ""
    unit: str = ""
    restriction: str = ""
    known: bool = True


class CatalogueSearch:
    """Name, code, barcode and pinyin-initials search over one catalogue version."""

    def __init__(self, catalogue: Catalogue) -> None:
        from pypinyin import Style, lazy_pinyin

        self.catalogue = catalogue
        self._rows: list[tuple[str, str, str]] = []  # (code, lower name, initials)
        for code, item in catalogue.items.items():
            head = item.name.split(" ")[0]
            initials = "".join(
                s[:1] for s in lazy_pinyin(head, style=Style.FIRST_LETTER, errors="ignore")
            ).lower()
            self._rows.append((code, item.name.lower(), initials))

    def search(self, query: str, limit: int = 8) -> list[str]:
        q = query.strip().lower()
        if not q:
            return []
        exact = [c for c, _, _ in self._rows if c.lower() == q]
        starts = [
            c for c, n, i in self._rows if c not in exact and (i.startswith(q) or n.startswith(q))
        ]
        within = [
            c
            for c, n, i in self._rows
            if c not in exact and c not in starts and (q in n or q in i or q in c.lower())
        ]
        return (exact + starts + within)[:limit]


def scanned_qty(text: str) -> str | None:
    """The quantity of `*N` (or `xN`, `×N`) scanned after a line, else None."""
    found = _QTY.fullmatch(text)
    return found.group(1) if found else None


def is_barcode(text: str) -> bool:
    """True for what a barcode scanner sends: 8 or 12 to 14 digits."""
    return _BARCODE.fullmatch(text) is not None


def item_view(catalogue: Catalogue, code: str) -> dict[str, Any]:
    """A catalogue item as a search result shows it."""
    item = catalogue.items[code]
    return {
        "code": code,
        "name": item.name,
        "category": item.category,
        "unit": item.unit or "",
        "price": format(item.price, "f") if item.price is not None else "",
        "restriction": _restriction(item),
    }


def add_item(lines: list[Line], catalogue: Catalogue, code: str, qty: str = "1") -> None:
    """`qty` of catalogue item `code`: one more line, or more of the line that has it."""
    item = catalogue.items.get(code)
    if item is None:
        raise CheckoutError("unknown_item", f"{code} is not in the catalogue")
    for line in lines:  # the same item again: one more of it
        if line.known and line.code == code:
            line.qty = _add_qty(line.qty, qty)
            return
    lines.append(
        Line(
            code=code,
            name=item.name,
            qty=qty,
            price=format(item.price, "f") if item.price is not None else None,
            category=item.category,
            unit=item.unit or "",
            restriction=_restriction(item),
        )
    )


def line_at(lines: list[Line], index: int) -> Line:
    """The line at `index`; a refusal when the basket changed under the page."""
    if not 0 <= index < len(lines):
        raise CheckoutError("bad_line", "that line is no longer in the basket: look again")
    return lines[index]


def set_line_qty(lines: list[Line], index: int, qty: str) -> None:
    """The quantity as typed; zero or less removes the line."""
    line = line_at(lines, index)
    value = _decimal(qty, "quantity")
    if value <= 0:
        lines.pop(index)
    else:
        line.qty = format(value.normalize(), "f")


def set_line_price(lines: list[Line], index: int, price: str) -> None:
    """The selling price in yuan as typed (positive, at most two decimals)."""
    line = line_at(lines, index)
    value = _decimal(price, "price")
    if value <= 0 or value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise CheckoutError("bad_price", "a price is in yuan with at most two decimals")
    line.price = format(value.quantize(Decimal("0.01")), "f")


def set_line_name(lines: list[Line], index: int, name: str) -> None:
    """The name of a line (a self-pay line the catalogue does not name), up to 60 characters."""
    line_at(lines, index).name = name.strip()[:60]


def remove_line(lines: list[Line], index: int) -> None:
    line_at(lines, index)
    lines.pop(index)


def needs_price(lines: list[Line]) -> bool:
    """True while a line (not in the catalogue) has no price yet."""
    return any(line.price is None for line in lines)


def basket_items(lines: list[Line]) -> list[dict[str, str]]:
    """The basket as a claim gives it: code, quantity and, where known, the price."""
    out = []
    for line in lines:
        item = {"code": line.code, "qty": line.qty}
        if line.price is not None:
            item["price"] = line.price
        out.append(item)
    return out


def _restriction(item: Any) -> str:
    parts = []
    if item.restrict_med_types:
        parts.append("med_types:" + ",".join(item.restrict_med_types))
    if item.restrict_flags:
        parts.append("flags:" + ",".join(item.restrict_flags))
    return ";".join(parts)


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise CheckoutError(
            f"bad_{what}", f"the {what} must be a number, like 2 or 12.50"
        ) from None
    if not value.is_finite() or value > _MAX_NUMBER:
        raise CheckoutError(f"bad_{what}", f"the {what} must be a number, like 2 or 12.50")
    return value


def _add_qty(a: str, b: str) -> str:
    return format((Decimal(a) + Decimal(b)).normalize(), "f")
