"""What the platform reads at most (platform-api.md "Transport"): a body of 8 MiB, JSON nested
32 levels deep, numbers of 30 digits. Shared by the hub (which refuses more) and anyone who
wants to know before sending."""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "JsonLimitError",
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "MAX_DIGITS",
    "depth_over",
    "load_limited_json",
]

MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 32
MAX_DIGITS = 30


class JsonLimitError(ValueError):
    """JSON nested deeper than `MAX_DEPTH` or holding a number of more than `MAX_DIGITS`
    digits; the message says which."""


def _number(text: str) -> str:
    if sum(c.isdigit() for c in text) > MAX_DIGITS:
        raise JsonLimitError(f"a number with more than {MAX_DIGITS} digits")
    return text


# A number of more than 30 digits is a run of at least 31 of a number's characters, after `[`,
# `,` or `:` (and whitespace) or at the start. A body without one (most bodies: the long runs of
# digits are in strings, as hashes and codes, after a quote) is parsed without a Python call for
# each of its numbers.
_NUMBER_CHARS = b"-+.0123456789eE"
_MARK = bytes(0x31 if c in _NUMBER_CHARS else 0x20 for c in range(256))  # "1" for those, " "
_LONG_RUN = b"1" * (MAX_DIGITS + 1)


def _may_hold_long_number(body: bytes) -> bool:
    marked = body.translate(_MARK)  # (C loops: a few hundred µs for a batch of 100 sales)
    at = marked.find(_LONG_RUN)
    while at >= 0:
        before = marked.rfind(b" ", 0, at)  # the run's start is the byte after
        while before >= 0 and body[before] in b" \t\r\n":
            before -= 1
        if before < 0 or body[before] in b"[,:":
            return True
        end = marked.find(b" ", at)
        if end < 0:
            return False
        at = marked.find(_LONG_RUN, end)
    return False


def load_limited_json(body: bytes) -> Any:
    """`body` parsed as JSON, within the limits; `JsonLimitError` beyond them, `ValueError` (or
    `UnicodeDecodeError`) when it is not JSON. Numbers keep their type (int, float)."""
    counted: dict[str, Any] = {
        "parse_int": lambda s: int(_number(s)),
        "parse_float": lambda s: float(_number(s)),
    }
    if isinstance(body, bytes) and not _may_hold_long_number(body):
        counted = {}  # (the same values: int and float are json's own)
    try:
        obj = json.loads(body, parse_constant=_constant, **counted)
    except RecursionError:
        raise JsonLimitError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    _check_depth(obj)
    return obj


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_depth(obj: Any) -> None:
    """Refuse nesting deeper than `MAX_DEPTH` (a top-level object or array is level 1)."""
    if depth_over(obj, MAX_DEPTH):
        raise JsonLimitError(f"JSON nested deeper than {MAX_DEPTH} levels")


def depth_over(value: Any, limit: int) -> bool:
    """Whether `value` nests lists and objects more than `limit` deep (a top-level object or
    array is level 1; iterative, so no recursion limit is met on the way)."""
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        for child in item.values() if isinstance(item, dict) else item:
            # the leaves JSON gives by their exact type first: the walk runs over every body
            kind = type(child)
            if kind is str or kind is int or child is None or kind is bool or kind is float:
                continue
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False
