"""his-api.md "Numbers": money, `cnt` and `pric` read exactly from JSON numbers (parsed as
`Decimal`, never through a float) or decimal strings, with the places the spec allows."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from terminal.his.refusal import HisRefused
from terminal.settlement.money import round_half_up_fen

__all__ = ["amount_of", "parse_cnt", "parse_money_fen", "parse_pric", "plain", "text_of"]

_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _decimal(value: Any, field: str) -> tuple[Decimal, int]:
    """The value exactly, and its places after the point (trailing zeros not counted), read off
    its decimal text."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise HisRefused("bad_input", f"{field}: {value!r} is not a number; send a decimal")
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, Decimal):
        text = format(value, "f")
    else:
        text = str(value)
    if not _DECIMAL_TEXT.fullmatch(text):
        raise HisRefused("bad_input", f"{field}: {value!r} is not a decimal number like 12.50")
    try:
        return Decimal(text), len(text.partition(".")[2].rstrip("0"))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise HisRefused("bad_input", f"{field}: {value!r} is not a decimal number") from None


def parse_money_fen(value: Any, field: str) -> int:
    """Money (yuan, at most 2 places) as int fen."""
    d, places = _decimal(value, field)
    if places > 2:
        raise HisRefused("bad_input", f"{field}: {value} has more than 2 decimal places (fen)")
    return int(d * 100)


def parse_cnt(value: Any, field: str, *, returns: bool = False) -> Decimal:
    """A quantity: at most 3 places; negative only where a return is allowed; never zero."""
    d, places = _decimal(value, field)
    if places > 3:
        raise HisRefused("bad_input", f"{field}: {value} has more than 3 decimal places")
    if d == 0 or (d < 0 and not returns):
        what = "not zero" if returns else "positive"
        raise HisRefused("bad_input", f"{field}: {value} must be {what}")
    return d.normalize() if places else d.quantize(Decimal(1))


def parse_pric(value: Any, field: str) -> Decimal:
    """A unit price: not negative, at most 6 places (the engine takes 4: see docs/his.md)."""
    d, places = _decimal(value, field)
    if d < 0:
        raise HisRefused("bad_input", f"{field}: {value} is negative; a price is 0 or more")
    if places > 6:
        raise HisRefused("bad_input", f"{field}: {value} has more than 6 decimal places")
    if places > 4:
        raise HisRefused(
            "bad_input",
            f"{field}: {value} has more than the 4 decimal places settlement uses; "
            "round the unit price to 4 places",
        )
    return d.normalize() if places else d.quantize(Decimal(1))


def amount_of(cnt: Decimal, pric: Decimal) -> int:
    """`cnt × pric` rounded half-up to the fen (settlement.md's line amount)."""
    return round_half_up_fen(cnt * pric)


def plain(d: Decimal) -> str:
    """A decimal as its plain text (`25`, `1.5`), never in exponent form."""
    return format(d, "f")


def text_of(value: Any) -> str:
    """A JSON number parsed as a `Decimal`, back to its decimal text: the `default` of an encoder
    (canonical JSON has no floats); any other type is not JSON."""
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON")
