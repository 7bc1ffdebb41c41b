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


def load_limited_json(body: bytes) -> Any:
    """`body` parsed as JSON, within the limits; `JsonLimitError` beyond them, `ValueError` (or
    `UnicodeDecodeError`) when it is not JSON. Numbers keep their type (int, float)."""
    try:
        obj = json.loads(
            body,
            parse_int=lambda s: int(_number(s)),
            parse_float=lambda s: float(_number(s)),
            parse_constant=_constant,
        )
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
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
