"""The reader's protocol and card sessions over an in-process virtual card (no PC/SC): the exact
APDU sequence, each Le style, and 2,000+ fuzzed answers that never crash and never read."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.card.codec import decode_cn, parse_tlv
from drivers.card.errors import CardError, MalformedAnswerError
from drivers.card.iso7816 import Iso7816Protocol
from drivers.card.reader import read_card
from drivers.card.virtual.card import card_from_dict
from drivers.card.virtual.demo import card_doc, psam_doc
from tests.support.profiles import examples

TODAY = date(2026, 11, 25)
PERSON: dict[str, Any] = {
    "psn_cert": "330102197001011235",
    "name": "张伟",
    "card_no": "HA1046913",
    "sex": "1",
    "ethnicity": "01",
    "birthplace": "330102",
}


class Scripted:
    """A connection to an in-process virtual card, recording every APDU."""

    def __init__(self, card: object, mutate: object = None) -> None:
        self.card = card
        self.sent: list[bytes] = []
        self.mutate = mutate

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.sent.append(apdu)
        answer = self.card.apdu(apdu)  # type: ignore[attr-defined]
        if self.mutate is not None:
            answer = self.mutate(len(self.sent), answer)  # type: ignore[operator]
        if len(answer) < 2:
            raise MalformedAnswerError("answer shorter than a status word")
        return answer[:-2], (answer[-2] << 8) | answer[-1]


def make(style: str = "exact", **changes: Any) -> tuple[Scripted, Scripted]:
    doc = card_doc(**PERSON, serial=0x10000B26, today=TODAY, answer_style=style, **changes)
    return Scripted(card_from_dict(doc)), Scripted(card_from_dict(psam_doc()))


def test_tlv_and_bcd_vectors_from_the_spec() -> None:
    assert parse_tlv(bytes.fromhex("0702414243"), 0x07) == b"AB"
    with pytest.raises(MalformedAnswerError):
        parse_tlv(bytes.fromhex("0705414243"), 0x07)
    with pytest.raises(MalformedAnswerError):
        parse_tlv(bytes.fromhex("0802414243"), 0x07)
    assert decode_cn(bytes.fromhex("20260315")) == "20260315"
    init_org = bytes.fromhex("91560000023301003301001F")  # 23 digits, F-padded to 12 bytes
    assert decode_cn(init_org) == "91560000023301003301001"
    with pytest.raises(MalformedAnswerError):
        decode_cn(bytes.fromhex("12AB"))
    sn = bytes.fromhex("330100D15600000510000B26C382A1F0")
    assert decode_cn(sn, keep_f=True) == "330100D15600000510000B26C382A1F0"


def test_a_full_read_is_27_apdus_with_no_repeated_select() -> None:
    card, psam = make()
    read = read_card(Iso7816Protocol(card), Iso7816Protocol(psam))
    assert read.authenticated and read.psn_cert == PERSON["psn_cert"] and read.psn_name == "张伟"
    assert len(card.sent) + len(psam.sent) == 27
    selects = [a for a in card.sent if a[1] == 0xA4]
    assert len(selects) == len(set(selects)) == 4
    # every READ RECORD asked for the element's length + 2 on the first try
    reads = [a for a in card.sent if a[1] == 0xB2]
    assert all(
        a[-1] == {0x09: 32, 0x4E: 22, 0x01: 18, 0x04: 14, 0x07: 11, 0x08: 20}.get(a[2], a[-1])
        for a in reads
    )


@pytest.mark.parametrize("style", ["exact", "t0", "lax"])
def test_each_le_style_reads_the_same(style: str) -> None:
    card, psam = make(style)
    read = read_card(Iso7816Protocol(card), Iso7816Protocol(psam))
    base_card, base_psam = make()
    assert read == read_card(Iso7816Protocol(base_card), Iso7816Protocol(base_psam))


def test_a_wrong_le_is_retried_with_the_length_the_card_gives() -> None:
    card, _ = make()
    protocol = Iso7816Protocol(card)
    from drivers.card.session import FID_ISSUER, SocialSecurityCardSession

    session = SocialSecurityCardSession(protocol)
    session.select_mf()
    session.select_ssse()
    session.select_file(FID_ISSUER)
    before = len(card.sent)
    assert session.read_element(0x07, 3) == b"HA1046913"  # asked Le 5, card says 6C 0B
    assert len(card.sent) - before == 2 and card.sent[-1][-1] == 0x0B


def test_a_counterfeit_is_refused() -> None:
    card, psam = make(counterfeit=True)
    with pytest.raises(CardError) as err:
        read_card(Iso7816Protocol(card), Iso7816Protocol(psam))
    assert err.value.reason == "counterfeit"


def test_without_a_psam_a_3_00_card_holder_is_unread_and_a_2_00_card_is_not_authenticated() -> None:
    card, _ = make()
    read = read_card(Iso7816Protocol(card), None)
    assert read.psn_cert is None and not read.authenticated and read.card_no == "HA1046913"
    card2, _ = make(version="2.00")
    read2 = read_card(Iso7816Protocol(card2), None)
    assert read2.psn_cert == PERSON["psn_cert"] and not read2.authenticated


STATUS_WORDS = st.integers(0x6000, 0x6FFF).filter(
    lambda sw: sw not in (0x6A83,) and sw >> 8 != 0x61 and sw >> 8 != 0x6C
)


@st.composite
def mutations(draw: st.DrawFn) -> tuple[int, str, int]:
    return (
        draw(st.integers(1, 21)),
        draw(st.sampled_from(["truncate", "sw", "tlv_len", "tag"])),
        draw(st.integers(0, 255)),
    )


@settings(max_examples=examples(2000), deadline=None)
@given(mutations(), st.sampled_from(["exact", "t0", "lax"]), STATUS_WORDS)
def test_fuzzed_answers_never_crash_and_never_read(
    mutation: tuple[int, str, int], style: str, sw: int
) -> None:
    at, kind, n = mutation

    def mutate(i: int, answer: bytes) -> bytes:
        if i != at:
            return answer
        body = answer[:-2]
        if kind == "truncate":
            return answer[: n % max(1, len(answer))]
        if kind == "sw":
            return body + bytes([sw >> 8, sw & 0xFF])
        if kind == "tlv_len" and len(body) >= 2:
            return body[:1] + bytes([(body[1] + 1 + n % 200) & 0xFF]) + body[2:] + answer[-2:]
        if kind == "tag" and body:
            return bytes([(body[0] + 1 + n % 254) & 0xFF]) + body[1:] + answer[-2:]
        return body + b"\x6f\x00"

    card, psam = make(style)
    card.mutate = mutate
    try:
        read = read_card(Iso7816Protocol(card), Iso7816Protocol(psam))
    except CardError:
        return
    # only a mutation that could not reach a data answer may leave a read, and then it is exact
    base_card, base_psam = make(style)
    assert read == read_card(Iso7816Protocol(base_card), Iso7816Protocol(base_psam))
