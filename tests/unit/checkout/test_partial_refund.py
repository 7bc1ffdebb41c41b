"""A partial refund's arithmetic (terminal/checkout/partial.py): what is kept, what is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.checkout.partial import SoldLine, parse_refund_lines, plan_refund
from terminal.errors import CheckoutError

SOLD = (
    SoldLine(0, "A001", "2", "12.50"),
    SoldLine(1, "B002", "1", "3.00"),
    SoldLine(2, "C003", "1.5", "8.00"),
)


def test_the_kept_basket_is_the_sold_lines_less_what_is_given_back_in_the_sales_order() -> None:
    plan = plan_refund(SOLD, {0: "1", 1: "1"})
    assert plan.refunded == ((0, "A001", "1"), (1, "B002", "1"))
    assert plan.kept == (
        {"code": "A001", "qty": "1", "price": "12.50"},
        {"code": "C003", "qty": "1.5", "price": "8.00"},
    )
    assert not plan.full


def test_a_fractional_quantity_is_kept_as_a_claim_writes_it() -> None:
    plan = plan_refund(SOLD, {2: "0.50"})
    assert plan.kept[-1] == {"code": "C003", "qty": "1", "price": "8.00"}
    assert plan.refunded == ((2, "C003", "0.5"),)


def test_giving_everything_back_is_a_full_refund() -> None:
    plan = plan_refund(SOLD, {0: "2", 1: "1", 2: "1.5"})
    assert plan.full and plan.kept == ()


@pytest.mark.parametrize(
    ("give_back", "message"),
    [
        ({}, "nothing is given back"),
        ({0: "0", 1: "0"}, "nothing is given back"),
        ({0: "3"}, "3 given back but 2 sold"),
        ({0: "-1"}, "0 or more"),
        ({0: "two"}, "is not a quantity"),
        ({0: "NaN"}, "0 or more"),
        ({0: "0.00001"}, "four decimal places"),
        ({7: "1"}, "line 8 is not a line of this sale"),
    ],
)
def test_a_bad_choice_is_refused_with_its_own_message(
    give_back: dict[int, str], message: str
) -> None:
    with pytest.raises(CheckoutError, match=message) as info:
        plan_refund(SOLD, give_back)
    assert info.value.code == "bad_refund"


def test_the_command_lines_argument_numbers_lines_from_one() -> None:
    assert parse_refund_lines("1:2, 3:0.5") == {0: "2", 2: "0.5"}
    for bad in ("0:1", "x:1", "2", "1:1,1:2"):
        with pytest.raises(CheckoutError, match="LINE:QTY|twice"):
            parse_refund_lines(bad)


@given(st.lists(st.integers(0, 40), min_size=3, max_size=3))
def test_kept_and_given_back_add_up_to_what_was_sold(tenths: list[int]) -> None:
    give_back = {n: str(Decimal(min(t, 15)) / 10) for n, t in enumerate(tenths)}
    sold = (
        SoldLine(0, "A001", "2", "12.50"),
        SoldLine(1, "B002", "1", "3.00"),
        SoldLine(2, "C003", "1.5", "8.00"),
    )
    try:
        plan = plan_refund(sold, give_back)
    except CheckoutError as exc:
        assert all(Decimal(q) == 0 for q in give_back.values()) or "sold" in str(exc)
        return
    back = {n: Decimal(q) for n, _, q in plan.refunded}
    kept = {line["code"]: Decimal(line["qty"]) for line in plan.kept}
    for line in sold:
        assert back.get(line.line_no, Decimal(0)) + kept.get(line.code, Decimal(0)) == Decimal(
            line.qty
        )
    assert plan.refunded and all(q > 0 for q in back.values())
