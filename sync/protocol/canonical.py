"""Canonical JSON (platform-api.md "Canonical JSON") for every signed or hashed document."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["canonical_json"]


def canonical_json(obj: Any, *, strict: bool = True) -> bytes:
    """Keys sorted, no spaces, non-ASCII as itself, UTF-8; floats are refused (money is strings).

    `strict=False` skips the walk that refuses floats, for documents built from validated
    integer and string fields on a hot path (the ledger's entries)."""
    if strict:
        _refuse_floats(obj)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _refuse_floats(obj: Any) -> None:
    if isinstance(obj, float):
        raise TypeError(
            f"canonical JSON holds no floats: {obj!r}; write money and ratios as strings"
        )
    if isinstance(obj, dict):
        for v in obj.values():
            _refuse_floats(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            _refuse_floats(v)
