"""Pricing a self-pay basket (pure): the insurance basket's parsing, one rounding per line; a
self-pay id told from a transaction id."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.checkout.selfpay import is_self_pay_id, self_pay_lines
from terminal.errors import CheckoutError
from terminal.ledger import SelfPayLine
from terminal.settlement.model import Catalogue, CatalogueItem

CATALOGUE = Catalogue(
    items={"A1": CatalogueItem("A1", "阿莫西林胶囊 0.25g*24粒", "A", price=Decimal("8.50"))}
)


def test_each_line_is_rounded_half_up_to_the_fen_once() -> None:
    lines = self_pay_lines(
        CATALOGUE,
        [
            {"code": "A1", "qty": "2", "price": "8.50"},
            {"code": "6900000000001", "qty": "3", "price": "0.335"},  # 1.005 → 1.01
            {"code": "6900000000002", "qty": "1.5", "price": "0.0033"},  # 0.00495 → 0.00
            {"code": "6900000000003", "qty": "0.333", "price": "0.015"},  # 0.004995 → 0.00
        ],
    )
    assert lines == (
        SelfPayLine("A1", "阿莫西林胶囊 0.25g*24粒", "2", "8.50", 1700),
        SelfPayLine("6900000000001", None, "3", "0.335", 101),
        SelfPayLine("6900000000002", None, "1.5", "0.0033", 0),
        SelfPayLine("6900000000003", None, "0.333", "0.015", 0),
    )


def test_the_total_is_the_sum_of_the_rounded_lines_not_the_rounded_sum() -> None:
    # three lines of 0.005 each: 3 fen, where rounding the sum (0.015) once would give 2
    basket = [{"code": f"X{i}", "qty": "1", "price": "0.005"} for i in "abc"]
    lines = self_pay_lines(CATALOGUE, basket)
    assert sum(line.amount for line in lines) == 3


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ({"code": "A1", "qty": "0", "price": "8.50"}, "basket[0].qty"),
        ({"code": "A1", "qty": "1.2345", "price": "8.50"}, "basket[0].qty"),
        ({"code": "A1", "qty": "1", "price": "-1"}, "basket[0].price"),
        ({"code": "A1", "qty": "1", "price": 8.5}, "basket[0].price"),
        ({"code": "", "qty": "1", "price": "1"}, "basket[0].code"),
    ],
)
def test_a_bad_line_is_named_with_what_to_do(line: dict[str, object], where: str) -> None:
    with pytest.raises(CheckoutError) as bad:
        self_pay_lines(CATALOGUE, [line], "claim.json")
    assert bad.value.code == "bad_basket"
    assert f"claim.json: {where}" in str(bad.value) and "correct that line" in str(bad.value)


@given(st.integers(1, 999_999), st.integers(0, 99_999_999))
def test_a_line_is_within_half_a_fen_of_qty_times_price(milli: int, basis: int) -> None:
    qty, price = Decimal(milli).scaleb(-3), Decimal(basis).scaleb(-4)  # 3 and 4 places at most
    [line] = self_pay_lines(CATALOGUE, [{"code": "Z", "qty": f"{qty:f}", "price": f"{price:f}"}])
    exact = qty * price * 100
    assert abs(line.amount - exact) <= Decimal("0.5") and line.amount - exact != Decimal("-0.5")


@pytest.mark.parametrize(
    ("text", "self_pay"),
    [
        ("P33010000001D0001-S1", True),
        ("P33010000001D0001-S12", True),
        ("P3301-S1-S2", True),
        ("P33010000001D0001-12", False),  # a transaction of the sales chain
        ("P3301-S1-5", False),
        ("-S1", False),
        ("P33010000001D0001-S", False),
        ("P33010000001D0001-s1", False),
    ],
)
def test_a_self_pay_id_is_told_from_a_txn_id_by_its_shape(text: str, self_pay: bool) -> None:
    assert is_self_pay_id(text) is self_pay
