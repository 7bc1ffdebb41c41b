"""Typed reading of a parsed document: each refusal is an `InvalidInputError` naming the file and
the field's path (settlement.md "Files"), so that `parse` can read fields in one line each."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

from terminal.errors import InvalidInputError

# Digits before the point: amounts up to 999,999,999,999.99 yuan, quantities and prices up to
# 999,999,999. Their products and sums then stay exact in Decimal's 28 digits and within SQLite's
# 64-bit integers as fen; a 40-digit price used to end `settle` in decimal.InvalidOperation.
AMOUNT_DIGITS = 12
DECIMAL_DIGITS = 9
AMOUNT = re.compile(rf"[0-9]{{1,{AMOUNT_DIGITS}}}(\.[0-9]{{1,2}})?")
ANY_AMOUNT = re.compile(r"[0-9]+(\.[0-9]{1,2})?")
DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
# a decimal with at most 3 (quantities) or 4 (prices) places, in one match
PLACES = {n: re.compile(rf"[0-9]{{1,{DECIMAL_DIGITS}}}(\.[0-9]{{1,{n}}})?") for n in (3, 4)}
MISSING = object()
FEN = Decimal(100)


class Reader:
    """Typed access to a parsed document that raises InvalidInputError naming the path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> InvalidInputError:
        return InvalidInputError(self.source, path, message)

    def table(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected an object, got {show(value)}")
        return value

    def get(self, obj: dict[str, Any], key: str, path: str) -> Any:
        if key not in obj:
            raise self.fail(join_path(path, key), "is missing")
        return obj[key]

    def text(self, value: Any, path: str, *, empty: bool = False) -> str:
        if not isinstance(value, str) or (not empty and not value):
            raise self.fail(path, f"{show(value)} is not a non-empty string")
        return value

    def texts(self, value: Any, path: str, *, empty: bool = True) -> tuple[str, ...]:
        if not isinstance(value, list) or (not empty and not value):
            raise self.fail(path, f"{show(value)} is not a {'' if empty else 'non-empty '}list")
        return tuple(self.text(v, f"{path}[{i}]") for i, v in enumerate(value))

    def integer(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"{show(value)} is not an integer")
        return value

    def amount(self, value: Any, path: str) -> int:
        """A non-negative amount string with at most two places, in fen."""
        if not isinstance(value, str) or not AMOUNT.fullmatch(value):
            if isinstance(value, str) and ANY_AMOUNT.fullmatch(value):
                raise self.fail(path, f"has more than {AMOUNT_DIGITS} digits before the point")
            raise self.fail(path, f'{show(value)} is not an amount (a string like "12.50")')
        return int(Decimal(value) * FEN)

    # `*_at(obj, key, path)`: the field `key` of `obj`; the field's path is only written out
    # when it is refused (a claim is read on every sale)

    def text_at(self, obj: dict[str, Any], key: str, path: str, *, empty: bool = False) -> str:
        value = obj.get(key, MISSING)
        if isinstance(value, str) and (empty or value):
            return value
        return self.text(self.get(obj, key, path), join_path(path, key), empty=empty)  # refused

    def amount_at(self, obj: dict[str, Any], key: str, path: str) -> int:
        """An amount that is zero when absent."""
        value = obj.get(key, "0")
        if isinstance(value, str) and AMOUNT.fullmatch(value):
            return int(Decimal(value) * FEN)
        return self.amount(value, join_path(path, key))  # refused

    def decimal_at(
        self, obj: dict[str, Any], key: str, path: str, what: str, places: int
    ) -> Decimal:
        value = obj.get(key, MISSING)
        if isinstance(value, str) and PLACES[places].fullmatch(value):
            return Decimal(value)
        return self.decimal(self.get(obj, key, path), join_path(path, key), what, places)  # refused

    def decimal(self, value: Any, path: str, what: str, places: int) -> Decimal:
        if not isinstance(value, str) or not DECIMAL.fullmatch(value):
            raise self.fail(path, f"{show(value)} is not a {what}")
        if len(value.partition(".")[0]) > DECIMAL_DIGITS:
            raise self.fail(path, f"has more than {DECIMAL_DIGITS} digits before the point")
        if "." in value and len(value.split(".")[1]) > places:
            raise self.fail(path, f"{show(value)} has more than {places} decimal places")
        return Decimal(value)

    def ratio(self, value: Any, path: str) -> Decimal:
        r = self.decimal(value, path, 'ratio (a string between "0" and "1")', 6)
        if r > 1:
            raise self.fail(path, f"{show(value)} is not a ratio between 0 and 1")
        return r

    def day(self, value: Any, path: str) -> date:
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(path, f'{show(value)} is not a date like "2026-03-15"')


def show(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # pragma: no cover - json.dumps with default=str
        return repr(value)


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
