"""The card codecs on arbitrary answers: a value of at most 255 bytes, or MalformedAnswerError,
never another exception (docs/security.md "Files, keys and untrusted input")."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.card.codec import decode_an, decode_cn, decode_gbk, parse_tlv
from drivers.card.errors import MalformedAnswerError
from tests.support.profiles import examples


@settings(max_examples=examples(500))
@given(st.binary(max_size=600), st.integers(0, 255))
def test_any_answer_gives_a_bounded_value_or_malformed(data: bytes, tag: int) -> None:
    try:
        value = parse_tlv(data, tag)
    except MalformedAnswerError:
        return
    assert len(value) <= 255
    assert value == data[2 : 2 + data[1]]


@settings(max_examples=examples(500))
@given(st.binary(max_size=300))
def test_any_value_decodes_or_is_malformed(value: bytes) -> None:
    for decode in (decode_an, decode_gbk, decode_cn):
        try:
            assert isinstance(decode(value), str)
        except MalformedAnswerError:
            pass
