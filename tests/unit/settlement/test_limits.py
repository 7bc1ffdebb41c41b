"""Digit and nesting limits of the engine's readers: a number too long for the engine's exact
arithmetic, or a policy nested past Python's recursion, is an `InvalidInputError` naming the field,
never a `decimal.InvalidOperation` or a `RecursionError` (docs/security.md)."""

from __future__ import annotations

import pytest

from terminal.errors import InvalidInputError
from terminal.settlement import parse_catalogue, parse_claim, parse_policy, result_to_json, settle
from tests.unit.settlement.helpers import CATALOGUE, claim_doc, policy_text

POLICY = policy_text({"segments": [{"from": "0", "ratio": "0.9"}]})


def test_a_40_digit_price_is_refused_by_name() -> None:
    with pytest.raises(InvalidInputError, match=r"basket\[0\]\.price: has more than 9 digits"):
        parse_claim(claim_doc([("A1", "1", "9" * 40)]), "c.json")


def test_a_40_digit_quantity_is_refused_by_name() -> None:
    with pytest.raises(InvalidInputError, match=r"basket\[0\]\.qty: has more than 9 digits"):
        parse_claim(claim_doc([("A1", "9" * 40, "1.00")]), "c.json")


def test_a_13_digit_amount_is_refused_by_name() -> None:
    doc = claim_doc([("A1", "1", "1.00")], acc={"acct_balance": "1" + "0" * 12})
    with pytest.raises(InvalidInputError, match=r"acct_balance: has more than 12 digits"):
        parse_claim(doc, "c.json")


def test_an_amount_that_is_not_one_keeps_its_message() -> None:
    doc = claim_doc([("A1", "1", "1.00")], acc={"acct_balance": "1.001"})
    with pytest.raises(InvalidInputError, match=r'"1.001" is not an amount'):
        parse_claim(doc, "c.json")


def test_the_largest_numbers_allowed_settle_exactly() -> None:
    claim = parse_claim(claim_doc([("C1", "999999999.999", "999999999.9999")]), "c.json")
    out = result_to_json(settle(parse_policy(POLICY), parse_catalogue(CATALOGUE), claim))
    assert (
        out["setlinfo"]["medfee_sumamt"] == "999999999998900000.00"
    )  # 1e18 − 1.1e6 + 1e-7, to the fen


def test_a_policy_nested_past_pythons_recursion_is_refused() -> None:
    text = POLICY + "extra = " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(InvalidInputError, match="nested too deeply"):
        parse_policy(text, "p.toml")
