"""A payload's text for `medpos qr decode` (drivers/qr/text.py), pure."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drivers.qr.text import is_text, payload_text

SJIS = "お薬手帳テスト".encode("shift_jis")


def test_a_shift_jis_payload_without_eci_is_text_even_when_the_reader_guessed_latin_1() -> None:
    as_latin_1 = SJIS.decode("iso-8859-1")  # what zxing-cpp gives for an unmarked byte segment
    assert payload_text(SJIS, reader_text=as_latin_1, symbology="]Q1") == "お薬手帳テスト"
    assert payload_text(SJIS) == "お薬手帳テスト"  # pyzbar, OpenCV: no reader text


def test_the_readers_own_text_comes_first_and_an_eci_allows_no_other_charset() -> None:
    assert payload_text(b"caf\xe9", reader_text="café", symbology="]Q2") == "café"
    assert payload_text(SJIS, reader_text="\x83e", symbology="]Q2") is None
    assert payload_text(b"caf\xe9") == "café"  # ISO-8859-1, the QR's default
    gs1 = b"0106901234567892\x1d21SER"
    assert payload_text(gs1, reader_text=gs1.decode(), symbology="]d2") == gs1.decode()


def test_binary_is_not_text_in_any_charset() -> None:
    assert payload_text(b"\xff\xfe\x00\x81ESC") is None
    assert payload_text(b"\x00\x01") is None


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"))))
def test_utf_8_text_is_given_back_as_it_was(text: str) -> None:
    assert is_text(text)
    assert payload_text(text.encode("utf-8")) == text
