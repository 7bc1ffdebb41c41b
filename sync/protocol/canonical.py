"""Canonical JSON (platform-api.md "Canonical JSON") for every signed or hashed document."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["canonical_json", "canonical_json_with"]

# stands for a member serialised already; json.dumps writes the NULs as \u0000
_HOLE = "\x00medpos:serialised\x00"
_HOLE_JSON = json.dumps(_HOLE).encode("utf-8")


def canonical_json(obj: Any, *, strict: bool = True) -> bytes:
    """Keys sorted, no spaces, non-ASCII as itself, UTF-8; floats are refused (money is strings).

    The spec's own line: `json.dumps(obj, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False).encode("utf-8")`. `strict=False` skips the walk that refuses floats, for
    documents built from validated integer and string fields (the ledger's entries); a float
    there is a defect."""
    if strict:
        _refuse_floats(obj)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def canonical_json_with(obj: Mapping[str, Any], key: str, value_json: bytes) -> bytes:
    """`canonical_json(obj)` when `value_json` is already the canonical JSON of `obj[key]`.

    The rest of `obj` is serialised (and walked for floats) around a placeholder, and
    `value_json` put in its place: canonical JSON is compositional, so the bytes are the same,
    and a large member (an envelope's `input`) is not serialised twice. Should the placeholder's
    text occur in the document itself, it is serialised whole instead."""
    text = canonical_json({**obj, key: _HOLE})
    if text.count(_HOLE_JSON) != 1:
        return canonical_json(obj)
    return text.replace(_HOLE_JSON, value_json)


def _refuse_floats(obj: Any) -> None:
    # the exact types JSON gives are tested first (`type(x) is`): the walk runs over every
    # envelope, and isinstance() on each leaf made it cost two thirds of the dump itself
    kind = type(obj)
    if kind is dict:
        values: Any = obj.values()
    elif kind is list or kind is tuple:
        values = obj
    elif isinstance(obj, float):
        raise TypeError(
            f"canonical JSON holds no floats: {obj!r}; write money and ratios as strings"
        )
    elif isinstance(obj, dict):
        values = obj.values()
    elif isinstance(obj, list | tuple):
        values = obj
    else:
        return
    for v in values:
        leaf = type(v)
        if leaf is not str and leaf is not int and leaf is not bool and v is not None:
            _refuse_floats(v)
