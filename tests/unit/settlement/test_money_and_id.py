"""Money in fen and the ID number's check character."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from terminal.errors import InvalidInputError
from terminal.settlement import age_on, birth_date, id_check_ok, parse_policy
from terminal.settlement.money import format_fen, parse_decimal, parse_money, round_half_up_fen
from tests.unit.settlement.helpers import policy_text


@pytest.mark.parametrize(("text", "fen"), [("12.50", 1250), ("0", 0), ("7.5", 750), ("-0.05", -5)])
def test_amounts_are_parsed_to_fen(text: str, fen: int) -> None:
    assert parse_money(text, "f") == fen
    assert parse_money(format_fen(fen), "f") == fen


@pytest.mark.parametrize("bad", ["12.505", "1e3", 12.5, "", " 1.00", "1,00"])
def test_anything_else_is_not_an_amount(bad: object) -> None:
    with pytest.raises(ValueError, match="f: .* is not an amount"):
        parse_money(bad, "f")


def test_format_fen_writes_two_places_and_the_sign() -> None:
    assert [format_fen(x) for x in (0, 5, 1250, -5, -1250)] == [
        "0.00",
        "0.05",
        "12.50",
        "-0.05",
        "-12.50",
    ]


def test_round_half_up_fen_rounds_halves_away_from_zero() -> None:
    assert round_half_up_fen(Decimal("0.035")) == 4
    assert round_half_up_fen(Decimal("0.0349")) == 3
    assert round_half_up_fen(Decimal("10.005")) == 1001


def test_parse_decimal() -> None:
    assert parse_decimal("0.2917", "p", 4) == Decimal("0.2917")
    with pytest.raises(ValueError, match="more than 4 decimal places"):
        parse_decimal("0.29171", "p", 4)
    with pytest.raises(ValueError, match="not a decimal string"):
        parse_decimal(0.5, "p")


@pytest.mark.parametrize(
    ("psn_cert", "ok"),
    [
        ("330102197001011235", True),
        ("11010519491231002X", True),
        ("330102197001011234", False),  # wrong check character
        ("330102197002301234", False),  # 30 February
        ("33010219700101123", False),  # too short
        ("33010219700101123x", False),  # lower-case x is not the check character X
    ],
)
def test_id_check_character_iso_7064_mod_11_2(psn_cert: str, ok: bool) -> None:
    assert id_check_ok(psn_cert) is ok


def test_age_in_whole_years() -> None:
    cert = "330102200002290016"  # born 29 February 2000
    assert birth_date(cert) == date(2000, 2, 29)
    assert age_on(cert, date(2026, 2, 28)) == 25
    assert age_on(cert, date(2026, 3, 1)) == 26
    with pytest.raises(ValueError, match="not an ID number"):
        age_on("nope", date(2026, 1, 1))


def test_only_a_string_has_a_birth_date() -> None:
    assert birth_date(330102200002290016) is None  # type: ignore[arg-type]


def test_a_date_that_is_neither_text_nor_date() -> None:
    with pytest.raises(InvalidInputError, match="policy.valid_from: 5 is not a date"):
        parse_policy(policy_text({}).replace('valid_from = "2026-01-01"', "valid_from = 5"))
