"""The basket's lines as the cashier edits them (pure: a catalogue in, lines out)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from terminal.checkout.basket import (
    Line,
    add_item,
    basket_items,
    is_barcode,
    needs_price,
    remove_line,
    scanned_qty,
    set_line_name,
    set_line_price,
    set_line_qty,
)
from terminal.errors import CheckoutError
from terminal.settlement.model import Catalogue, CatalogueItem

CATALOGUE = Catalogue(
    items={
        "A1": CatalogueItem("A1", "阿莫西林胶囊 0.25g*24粒", "A", price=Decimal("8.50"), unit="盒"),
        "N1": CatalogueItem("N1", "无价药品", "C"),
    }
)


def _code(exc: pytest.ExceptionInfo[CheckoutError]) -> str:
    return exc.value.code


def test_an_item_added_again_is_one_more_of_its_line() -> None:
    lines: list[Line] = []
    add_item(lines, CATALOGUE, "A1")
    add_item(lines, CATALOGUE, "A1", "1.5")
    [line] = lines
    assert (line.code, line.name, line.qty, line.price, line.unit) == (
        "A1",
        "阿莫西林胶囊 0.25g*24粒",
        "2.5",
        "8.50",
        "盒",
    )
    add_item(lines, CATALOGUE, "N1")
    assert lines[1].price is None and needs_price(lines)
    with pytest.raises(CheckoutError) as unknown:
        add_item(lines, CATALOGUE, "ZZ")
    assert _code(unknown) == "unknown_item"


def test_an_unknown_line_is_never_merged_with_a_catalogue_line() -> None:
    lines = [Line(code="A1", name="", known=False, price="1.00")]
    add_item(lines, CATALOGUE, "A1")
    assert len(lines) == 2


def test_quantities_are_read_as_typed_and_zero_removes_the_line() -> None:
    lines = [Line(code="A1", name="a"), Line(code="B", name="b")]
    set_line_qty(lines, 0, " 2.50 ")
    assert lines[0].qty == "2.5"
    set_line_qty(lines, 0, "1E+1")
    assert lines[0].qty == "10"
    for bad in ("two", "NaN", "Infinity", "100001"):
        with pytest.raises(CheckoutError) as refused:
            set_line_qty(lines, 0, bad)
        assert _code(refused) == "bad_quantity" and "like 2 or 12.50" in str(refused.value)
    set_line_qty(lines, 0, "-1")
    assert [line.code for line in lines] == ["B"]


def test_a_price_is_positive_yuan_with_at_most_two_decimals() -> None:
    lines = [Line(code="X", name="", known=False)]
    set_line_price(lines, 0, "12.5")
    assert lines[0].price == "12.50" and not needs_price(lines)
    for bad in ("0", "-1", "1.005"):
        with pytest.raises(CheckoutError) as refused:
            set_line_price(lines, 0, bad)
        assert _code(refused) == "bad_price"
    with pytest.raises(CheckoutError) as word:
        set_line_price(lines, 0, "cheap")
    assert _code(word) == "bad_price" and lines[0].price == "12.50"


def test_a_line_that_is_gone_is_refused() -> None:
    lines = [Line(code="A1", name="a")]
    edits: list[Callable[[], None]] = [
        lambda: set_line_qty(lines, 1, "2"),
        lambda: set_line_price(lines, -1, "2"),
        lambda: set_line_name(lines, 5, "x"),
        lambda: remove_line(lines, 1),
    ]
    for edit in edits:
        with pytest.raises(CheckoutError) as refused:
            edit()
        assert _code(refused) == "bad_line"
    set_line_name(lines, 0, "  " + "名" * 80)
    assert lines[0].name == "名" * 60
    remove_line(lines, 0)
    assert lines == []


def test_the_basket_as_a_claim_gives_it() -> None:
    lines = [Line(code="A1", name="a", qty="2", price="8.50"), Line(code="X", name="", qty="1")]
    assert basket_items(lines) == [
        {"code": "A1", "qty": "2", "price": "8.50"},
        {"code": "X", "qty": "1"},
    ]


@pytest.mark.parametrize(
    ("text", "qty"), [("*3", "3"), ("x 2", "2"), ("×1.5", "1.5"), ("X4", "4"), ("*", None)]
)
def test_a_scanned_quantity(text: str, qty: str | None) -> None:
    assert scanned_qty(text) == qty


@pytest.mark.parametrize(
    ("text", "barcode"),
    [("12345678", True), ("6910100000012", True), ("123456789", False), ("A1", False)],
)
def test_what_a_barcode_scanner_sends(text: str, barcode: bool) -> None:
    assert is_barcode(text) is barcode
