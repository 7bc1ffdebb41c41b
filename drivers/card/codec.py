"""card.md "Encodings" on the reader side: `an`, `cn` (BCD, F-padded), GBK, and simple TLV.

Limits: a simple-TLV length is one byte, so no value read here is over 255 bytes whatever the card
answers, and nothing nests; a malformed answer is `MalformedAnswerError`, never another exception
(a property test feeds arbitrary bytes)."""

from __future__ import annotations

from drivers.card.errors import MalformedAnswerError

__all__ = ["decode_an", "decode_cn", "decode_gbk", "parse_tlv"]


def parse_tlv(data: bytes, tag: int) -> bytes:
    """The value of a simple-TLV element `tag | length | value`; anything else is malformed."""
    if len(data) < 2:
        raise MalformedAnswerError(f"element {tag:02X}: answer of {len(data)} bytes is too short")
    if data[0] != tag:
        raise MalformedAnswerError(f"element {tag:02X}: the card returned tag {data[0]:02X}")
    length = data[1]
    if 2 + length > len(data):
        raise MalformedAnswerError(f"element {tag:02X}: length {length} runs past the data")
    return data[2 : 2 + length]


def decode_an(value: bytes) -> str:
    """ASCII, right-padded with spaces or 0x00."""
    try:
        return value.rstrip(b" \x00").decode("ascii")
    except UnicodeDecodeError:
        raise MalformedAnswerError("a text element holds non-ASCII bytes") from None


def decode_gbk(value: bytes) -> str:
    """GBK text padded with spaces or 0x00."""
    try:
        return value.rstrip(b" \x00").decode("gbk")
    except UnicodeDecodeError:
        raise MalformedAnswerError("a name element is not GBK text") from None


def decode_cn(value: bytes, *, keep_f: bool = False) -> str:
    """BCD digits two per byte, right-padded with F (kept as hex digits when `keep_f`)."""
    digits = value.hex().upper()
    if keep_f:
        return digits
    digits = digits.rstrip("F")
    if not digits.isdigit() and digits:
        raise MalformedAnswerError(f"a numeric element holds {digits!r}")
    return digits
