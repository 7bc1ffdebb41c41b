"""The canonical JSON that idempotence by `msgid` hashes (his-api.md "Transport"): stored answers
are matched on these bytes, so they must not change from one version to the next."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from terminal.his.desk import _canonical
from terminal.his.numbers import text_of


def test_json_numbers_are_hashed_as_their_decimal_text_with_keys_sorted() -> None:
    body = '{"infno":"2301","input":{"z":[1,2.50,{"b":1e2,"a":"中"}],"n":null,"t":true}}'
    parsed = json.loads(body, parse_float=Decimal)
    assert _canonical(parsed) == (
        '{"infno":"2301","input":{"n":null,"t":true,"z":[1,"2.50",{"a":"中","b":"100"}]}}'
    ).encode("utf-8")


def test_only_a_decimal_has_a_text() -> None:
    assert text_of(Decimal("-0.125")) == "-0.125"
    with pytest.raises(TypeError):
        text_of(1.5)
