"""Canonical JSON: the bytes must be exactly the spec's `json.dumps` line, floats refused.

platform-api.md defines canonical JSON as
`json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")`;
every hash and signature in medpos (and in the other systems that check them) depends on it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections import OrderedDict
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.protocol.canonical import canonical_json, canonical_json_with


def spec(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


# every code point but the lone surrogates (which UTF-8 cannot hold; tested below),
# with the control characters, quotes, backslashes, U+2028/9 and DEL made likely
_TEXT = st.text(
    st.one_of(
        st.characters(exclude_categories=["Cs"]),
        st.sampled_from('\x00\x01\x1f\x7f"\\/\b\f\n\r\t\u2028\u2029\ufeff张伟'),
    ),
    max_size=12,
)
_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),  # past 64 bits too: json writes those
    _TEXT,
)
_DOC = st.recursive(
    _LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(_TEXT, inner, max_size=4),
    ),
    max_leaves=30,
)


@settings(max_examples=600)
@given(_DOC)
def test_the_bytes_are_the_specs_json_dumps(doc: Any) -> None:
    assert canonical_json(doc) == spec(doc)
    assert canonical_json(doc, strict=False) == spec(doc)


@settings(max_examples=200)
@given(st.dictionaries(_TEXT, _DOC, max_size=4), _DOC)
def test_a_member_written_already_is_put_in_place(rest: dict[str, Any], value: Any) -> None:
    doc = {**rest, "input": value}
    assert canonical_json_with(doc, "input", spec(value)) == spec(doc)


class Kind(enum.IntEnum):
    SALE = 1


class Name(str, enum.Enum):
    ZHANG = "张伟"


@dataclasses.dataclass
class Point:
    x: int


def test_subclasses_big_integers_and_deep_nesting_are_written_as_json_writes_them() -> None:
    """Subclasses of int, str and dict, integers past 64 bits, deep nesting: json's text."""
    for doc in (
        {"kind": Kind.SALE},
        {"b": OrderedDict(z=1, a=2)},
        {"big": 2**64, "small": -(2**63) - 1},
        {"deep": json.loads("[" * 300 + "]" * 300)},
    ):
        assert canonical_json(doc) == spec(doc)
    # a str-valued Enum: json writes its value through the str subclass; so must we
    assert canonical_json({"n": Name.ZHANG}) == spec({"n": Name.ZHANG})


@pytest.mark.parametrize(
    "doc",
    [
        {"when": date(2026, 11, 25)},  # json cannot write a date: nor may canonical JSON
        {"p": Point(1)},
        {1: "a non-string key"},
    ],
)
def test_what_json_refuses_stays_refused_or_is_written_as_json_writes_it(doc: Any) -> None:
    try:
        expected = spec(doc)
    except TypeError as exc:
        with pytest.raises(TypeError):
            canonical_json(doc)
        assert "not JSON serializable" in str(exc)
    else:
        assert canonical_json(doc) == expected


def test_a_lone_surrogate_is_refused_as_before() -> None:
    with pytest.raises(UnicodeEncodeError):
        spec({"a": "\udc80"})
    with pytest.raises(UnicodeEncodeError):
        canonical_json({"a": "\udc80"})


def test_floats_are_still_refused() -> None:
    with pytest.raises(TypeError, match="no floats"):
        canonical_json({"a": [1, {"b": 0.5}]})
