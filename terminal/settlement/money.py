"""Money as integer fen (settlement.md "Money").

Amounts are `int` fen everywhere; in JSON they are decimal strings with two places. Quantities,
prices with up to four places and ratios are `Decimal`, built from strings only. Every rounding is
`round_half_up_fen`, called once at the step the spec names.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["format_fen", "parse_decimal", "parse_money", "round_half_up_fen"]

_FEN = Decimal(100)
_ONE = Decimal(1)
_CENTS = tuple(f"{c:02d}" for c in range(100))  # "00" to "99": a ledger entry writes dozens
_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]{1,2})?")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def parse_money(text: object, field: str) -> int:
    """`"12.50"` → 1250; anything but a decimal string with at most two places: ValueError."""
    if not isinstance(text, str) or not _AMOUNT.fullmatch(text):
        raise ValueError(f"{field}: {text!r} is not an amount with at most two decimal places")
    whole, _, cents = text.partition(".")
    value = abs(int(whole)) * 100 + int(cents.ljust(2, "0") or 0)
    return -value if text.startswith("-") else value


def parse_decimal(text: object, field: str, max_places: int | None = None) -> Decimal:
    """A decimal string (never a float) as `Decimal`; raises ValueError naming the field."""
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        raise ValueError(f"{field}: {text!r} is not a decimal string")
    if max_places is not None and "." in text and len(text.split(".")[1]) > max_places:
        raise ValueError(f"{field}: {text!r} has more than {max_places} decimal places")
    return Decimal(text)


def round_half_up_fen(yuan: Decimal) -> int:
    """An amount in yuan (any precision) rounded half up to whole fen."""
    return int((yuan * _FEN).quantize(_ONE, ROUND_HALF_UP))  # (by position: quicker)


def format_fen(fen: int) -> str:
    """1250 → `"12.50"`; -5 → `"-0.05"`."""
    if fen < 0:
        return "-" + format_fen(-fen)
    return f"{fen // 100}.{_CENTS[fen % 100]}"
