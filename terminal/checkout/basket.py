"""The counter's basket: its lines, how the cashier edits them, and what a scanned line means.

Plain functions over the list of `Line`s the counter holds (docs/ui.md "The counter"): quantities
and prices as the cashier types them are read here (`Decimal` from the text, never a float), the
same catalogue item scanned again adds to its line, and a barcode the catalogue does not know is
kept as a self-pay line that needs a price. The basket as a claim gives (`basket_items`) is what
`CheckoutService.quote` and `sell` take.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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
    "check_scanned_qty",
    "gtin_ok",
    "scanned_qty",
    "set_line_name",
    "set_line_price",
    "set_line_qty",
]

MED_TYPES = ("41", "11", "14", "21")  # pharmacy, outpatient, chronic outpatient, inpatient
_BARCODE = re.compile(r"\d{8}|\d{12,14}")
# `*3`, `×3`, `x3`: a quantity for the line last scanned; after `*` or `×` anything is meant as one
# (and refused with its own message when it is not a quantity), after `x` only what starts like a
# number (`xb` is a search: pinyin initials)
_QTY = re.compile(r"[*×]\s*(\S+)|[xX]\s*([-+.\d]\S*)")
_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")  # 1e3: a number, but not as typed
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
    # trace-codes.md: the item's packages carry codes; those scanned for this line, in order
    trac_required: bool = False
    pack_qty: str | None = None
    unit_is_pack: bool = True
    trac: list[str] = field(default_factory=list)

    @property
    def trac_need(self) -> int | None:
        """N: the codes this drug line needs (None: not a drug line, or not whole packages)."""
        if not self.trac_required:
            return None
        try:
            qty = Decimal(self.qty)
            packages = qty if self.unit_is_pack else qty / Decimal(self.pack_qty or "0")
        except (InvalidOperation, ArithmeticError):
            return None
        whole = packages == packages.to_integral_value() and packages > 0
        return int(packages) if whole else None


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
    """The quantity of `*N` (or `xN`, `×N`) scanned after a line, as typed, else None."""
    found = _QTY.fullmatch(text)
    return (found.group(1) or found.group(2)) if found else None


def check_scanned_qty(qty: str, max_qty: int) -> str:
    """A scanned `*N` quantity as the line takes it; each mistake refused with its own message."""
    text = qty.strip()
    if _EXPONENT.fullmatch(text):
        raise CheckoutError("qty_exponent", "write the quantity in plain digits, like *3 (not 1e3)")
    value = _decimal(text, "quantity")
    if value < 0:
        raise CheckoutError(
            "qty_negative", "a quantity cannot be negative: a return is made on the refund page"
        )
    if value == 0:
        raise CheckoutError("qty_zero", "*0 is not a quantity: remove the line with ✕ instead")
    if value > max_qty:
        raise CheckoutError(
            "qty_too_large", f"at most {max_qty} of one item on a line: check the quantity"
        )
    return format(value.normalize(), "f")


def gtin_ok(code: str) -> bool:
    """True when a GTIN-8/12/13/14 barcode's check digit (GS1 General Specifications 7.9) is
    right: a mistyped or misread digit is caught."""
    digits = [int(c) for c in code]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


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


def add_item(lines: list[Line], catalogue: Catalogue, code: str, qty: str = "1") -> int:
    """`qty` of catalogue item `code`: one more line, or more of the line that has it; the index
    of that line (the one a `*N` scanned next acts on)."""
    item = catalogue.items.get(code)
    if item is None:
        raise CheckoutError("unknown_item", f"{code} is not in the catalogue")
    for index, line in enumerate(lines):  # the same item again: one more of it
        if line.known and line.code == code:
            line.qty = _add_qty(line.qty, qty)
            return index
    lines.append(
        Line(
            code=code,
            name=item.name,
            qty=qty,
            price=format(item.price, "f") if item.price is not None else None,
            category=item.category,
            unit=item.unit or "",
            restriction=_restriction(item),
            trac_required=item.trac_required,
            pack_qty=format(item.pack_qty, "f") if item.pack_qty is not None else None,
            unit_is_pack=item.unit_is_pack,
        )
    )
    return len(lines) - 1


def line_at(lines: list[Line], index: int) -> Line:
    """The line at `index`; a refusal when the basket changed under the page."""
    if not 0 <= index < len(lines):
        raise CheckoutError("bad_line", "that line is no longer in the basket: look again")
    return lines[index]


def set_line_qty(lines: list[Line], index: int, qty: str, max_qty: int | None = None) -> None:
    """The quantity as typed; zero or less removes the line; more than `max_qty` is refused."""
    line = line_at(lines, index)
    value = _decimal(qty, "quantity")
    if max_qty is not None and value > max_qty:
        raise CheckoutError(
            "qty_too_large", f"at most {max_qty} of one item on a line: check the quantity"
        )
    if value <= 0:
        lines.pop(index)
    else:
        line.qty = format(value.normalize(), "f")


def set_line_price(lines: list[Line], index: int, price: str) -> None:
    """The selling price in yuan as typed (positive, at most two decimals); each mistake is
    refused with its own message."""
    line = line_at(lines, index)
    if _EXPONENT.fullmatch(price.strip()):
        raise CheckoutError("bad_price", "write the price in plain digits, like 12.50 (not 1e3)")
    value = _decimal(price, "price")
    if value < 0:
        raise CheckoutError("bad_price", "a price cannot be negative: type what the item sells for")
    if value == 0:
        raise CheckoutError("bad_price", "a price of 0 is not a sale: type what the item sells for")
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise CheckoutError("bad_price", "a price is in yuan with at most two decimals (fen)")
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


def basket_items(lines: list[Line]) -> list[dict[str, Any]]:
    """The basket as a claim gives it: code, quantity and, where known, the price."""
    out = []
    for line in lines:
        item: dict[str, Any] = {"code": line.code, "qty": line.qty}
        if line.price is not None:
            item["price"] = line.price
        if line.trac:
            item["trac"] = list(line.trac)
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
    if not value.is_finite():
        raise CheckoutError(f"bad_{what}", f"the {what} must be a number, like 2 or 12.50")
    if value > _MAX_NUMBER:
        raise CheckoutError(
            f"bad_{what}", f"the {what} must be a number, like 2 or 12.50, at most {_MAX_NUMBER}"
        )
    return value


def _add_qty(a: str, b: str) -> str:
    return format((Decimal(a) + Decimal(b)).normalize(), "f")
