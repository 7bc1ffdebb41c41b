"""his-api.md "Numbers": money, `cnt` and `pric` read exactly, their places counted without
trailing zeros, whether they came as JSON numbers (`Decimal`), integers or decimal strings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.his.numbers import parse_cnt, parse_money_fen, parse_pric
from terminal.his.refusal import HisRefused


def _places(d: Decimal) -> int:
    """Places after the point of the value itself (its normal form), the spec's reading."""
    return 0 if d == 0 else max(0, -int(d.normalize().as_tuple().exponent))


_DECIMALS = st.decimals(min_value=-(10**6), max_value=10**6, places=8, allow_nan=False)


@given(_DECIMALS, st.integers(min_value=0, max_value=4), st.sampled_from(["text", "json"]))
def test_places_are_the_values_not_its_trailing_zeros(d: Decimal, zeros: int, form: str) -> None:
    text = format(d, "f")
    if zeros:
        text += ("" if "." in text else ".") + "0" * zeros
    value: object = text if form == "text" else Decimal(text)
    places = _places(d)
    if places > 2:
        with pytest.raises(HisRefused, match="more than 2 decimal places"):
            parse_money_fen(value, "m")
    else:
        assert parse_money_fen(value, "m") == int(d * 100)
    if d == 0 or places > 3:
        with pytest.raises(HisRefused):
            parse_cnt(value, "cnt", returns=True)
    else:
        assert parse_cnt(value, "cnt", returns=True) == d
    if d < 0 or places > 4:
        with pytest.raises(HisRefused):
            parse_pric(value, "pric")
    else:
        got = parse_pric(value, "pric")
        assert got == d and "E" not in str(got)


@pytest.mark.parametrize(
    ("value", "fen"), [(12, 1200), ("12.50", 1250), (Decimal("1E+2"), 10000), (" 3.1 ", 310)]
)
def test_integers_exponents_and_spaces(value: object, fen: int) -> None:
    assert parse_money_fen(value, "m") == fen


@pytest.mark.parametrize("value", [True, 1.5, "1e2", "12,50", "", None, [1]])
def test_other_forms_are_bad_input_naming_the_field(value: object) -> None:
    with pytest.raises(HisRefused, match="^medfee_sumamt: ") as err:
        parse_money_fen(value, "medfee_sumamt")
    assert err.value.code == "bad_input"
