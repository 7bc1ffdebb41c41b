"""The behaviour of a virtual user card and PSAM (card.md "Virtual card and PSAM").

Card file (JSON): `{"type": "card", "atr": hex, "elements": {"01": "3301…", "09": "张伟", …},
"pin": "123456" | null, "pin_tries": 3, "k_int": hex16, "k_ext": hex16, "blocked": false,
"answer_style": "exact" | "t0" | "lax"}` with the elements as text (cn as digits, an as ASCII, the
name as Unicode); a PSAM: `{"type": "psam", "atr": hex, "irk": hex16, "rk_ssse": hex16,
"terminal_no": "330100000001"}`. `answer_style` picks how Le is treated: "exact" answers 6Cxx to a
wrong Le, "t0" answers 61xx to every command with data (GET RESPONSE), "lax" ignores Le.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["VirtualCard", "VirtualPsam", "load_card_file", "sm4"]

# element tag → (format, length): the card's own copy of card.md's tables
_FORMATS = {
    0x01: ("hex", 16),
    0x02: ("an", 1),
    0x03: ("an", 4),
    0x04: ("cn", 12),
    0x05: ("cn", 4),
    0x06: ("cn", 4),
    0x07: ("an", 9),
    0x08: ("an", 18),
    0x09: ("gbk", 30),
    0x4E: ("gbk", 20),
    0x0A: ("an", 1),
    0x0B: ("cn", 1),
    0x0C: ("cn", 3),
    0x0D: ("cn", 4),
}
_EF05 = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07}
_DF_NAME = bytes.fromhex("7378312e73682ec9e7bbe1b1a3d5cf")


def sm4(key: bytes, block: bytes) -> bytes:
    """SM4 (GB/T 32907) in ECB mode on one 16-byte block."""
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305 - card.md: one block
    return enc.update(block) + enc.finalize()


def _encode(tag: int, text: str) -> bytes:
    kind, length = _FORMATS[tag]
    if kind == "hex":
        raw = bytes.fromhex(text)
    elif kind == "cn":
        raw = bytes.fromhex(text + "F" * (2 * length - len(text)))
    elif kind == "gbk":
        raw = text.encode("gbk").ljust(length, b"\x00")
    else:
        raw = text.encode("ascii").ljust(length, b" ")
    return bytes([tag, len(raw)]) + raw


def _sw(value: int) -> bytes:
    return bytes([value >> 8, value & 0xFF])


@dataclass
class VirtualCard:
    """A user card: answers APDUs from its elements and keys."""

    elements: dict[int, bytes]
    k_int: bytes
    k_ext: bytes
    pin: str | None = None
    pin_tries: int = 3
    blocked: bool = False
    cancelled: bool = False
    answer_style: str = "exact"
    atr: bytes = bytes.fromhex("3B6800000073C84013009000")
    _selected: str = ""
    _app: bool = False
    _challenge: bytes = b""
    _ext_ok: bool = False
    _pending: bytes = b""
    _pin_ok: bool = False
    commands: int = field(default=0)

    def reset(self) -> None:
        self._selected, self._app, self._challenge, self._ext_ok = "", False, b"", False
        self._pending, self._pin_ok = b"", False

    def _data(self, data: bytes, le: int | None) -> bytes:
        if self.answer_style == "t0" and data:
            self._pending = data
            return _sw(0x6100 | min(len(data), 0xFF))
        if self.answer_style == "exact" and le not in (None, 0) and le != len(data):
            return _sw(0x6C00 | len(data))
        return data + _sw(0x9000)

    def apdu(self, apdu: bytes) -> bytes:
        self.commands += 1
        if len(apdu) < 4:
            return _sw(0x6700)
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[4:]
        lc = body[0] if len(body) > 1 else 0
        data = body[1 : 1 + lc] if len(body) > 1 else b""
        le = body[-1] if (len(body) == 1 or len(body) > 1 + lc) else None
        if ins == 0xC0:
            out, self._pending = self._pending, b""
            return out + _sw(0x9000) if out else _sw(0x6F00)
        if self.blocked and ins != 0xA4:
            return _sw(0x9303)
        if ins == 0xA4:
            return self._select(p1, data)
        if ins == 0xB2:
            return self._read(p1, le)
        if ins == 0x84:
            self._challenge = os.urandom(8)
            return self._data(self._challenge, le)
        if ins == 0x82:
            if not self._challenge or len(data) != 16:
                return _sw(0x6985)
            expect = sm4(self.k_ext, self._challenge + bytes(8))
            self._challenge = b""
            if data != expect:
                return _sw(0x6300)
            self._ext_ok = True
            return _sw(0x9000)
        if ins == 0x88:
            if len(data) != 16:
                return _sw(0x6700)
            return self._data(sm4(self.k_int, data), le)
        if ins == 0x20:
            return self._verify(data)
        return _sw(0x6D00)

    def _select(self, p1: int, data: bytes) -> bytes:
        if p1 == 0x00 and data == b"\x3f\x00":
            self._selected, self._app, self._ext_ok = "MF", False, False
            return _sw(0x9000)
        if p1 == 0x04 and data == _DF_NAME:
            if self.cancelled:
                return _sw(0x6283)
            self._app, self._selected, self._ext_ok = True, "SSSE", False
            return self._data(b"\x6f\x00", None) if self.answer_style == "t0" else _sw(0x9000)
        if p1 == 0x02 and self._app and data in (b"\xef\x05", b"\xef\x06"):
            self._selected = data.hex().upper()
            return _sw(0x9000)
        return _sw(0x6A82)

    def _read(self, tag: int, le: int | None) -> bytes:
        if self._selected not in ("EF05", "EF06"):
            return _sw(0x6986 if self._selected else 0x6A82)
        in_file = tag in _EF05 if self._selected == "EF05" else tag not in _EF05
        if (
            self._selected == "EF06"
            and self.elements.get(0x03, b"")[2:6] == b"3.00"
            and not self._ext_ok
        ):
            return _sw(0x6982)
        if not in_file or tag not in self.elements:
            return _sw(0x6A83)
        return self._data(self.elements[tag], le)

    def _verify(self, data: bytes) -> bytes:
        if self.pin is None:
            return _sw(0x9000)
        if self.pin_tries == 0:
            return _sw(0x6983)
        if not data:
            return _sw(0x9000) if self._pin_ok else _sw(0x63C0 | self.pin_tries)
        entered = data.hex().upper().rstrip("F")
        if entered == self.pin:
            self.pin_tries, self._pin_ok = 3, True
            return _sw(0x9000)
        self.pin_tries -= 1
        return _sw(0x6983) if self.pin_tries == 0 else _sw(0x63C0 | self.pin_tries)


@dataclass
class VirtualPsam:
    """The terminal's PSAM: derives card keys from its master keys and encrypts challenges."""

    irk: bytes
    rk_ssse: bytes
    terminal_no: str
    atr: bytes = bytes.fromhex("3B6A00008131FE450031C0640000000000")
    _key: bytes = b""
    commands: int = 0

    def reset(self) -> None:
        self._key = b""

    def apdu(self, apdu: bytes) -> bytes:
        self.commands += 1
        if len(apdu) < 4:
            return _sw(0x6700)
        cla, ins, p1, p2 = apdu[:4]
        data = apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b""
        if ins == 0xA4:
            return _sw(0x9000)
        if ins == 0xB0 and p1 == 0x96:
            digits = self.terminal_no + "F" * (12 - len(self.terminal_no))
            return bytes.fromhex(digits) + _sw(0x9000)
        if cla == 0x80 and ins == 0x1A:
            master = {(0x45, 0x01): self.irk, (0x46, 0x0A): self.rk_ssse}.get((p1, p2))
            if master is None or len(data) != 16:
                return _sw(0x6A86)
            self._key = sm4(master, data)
            return _sw(0x9000)
        if cla == 0x80 and ins == 0xFA:
            if not self._key:
                return _sw(0x6985)
            if len(data) != 16:
                return _sw(0x6700)
            return sm4(self._key, data) + _sw(0x9000)
        return _sw(0x6D00)


def card_from_dict(doc: dict[str, Any]) -> VirtualCard | VirtualPsam:
    """A virtual card or PSAM from a parsed card file."""
    if doc.get("type") == "psam":
        return VirtualPsam(
            bytes.fromhex(doc["irk"]), bytes.fromhex(doc["rk_ssse"]), doc["terminal_no"]
        )
    elements = {int(tag, 16): _encode(int(tag, 16), text) for tag, text in doc["elements"].items()}
    card = VirtualCard(
        elements=elements,
        k_int=bytes.fromhex(doc["k_int"]),
        k_ext=bytes.fromhex(doc["k_ext"]),
        pin=doc.get("pin"),
        pin_tries=int(doc.get("pin_tries", 3)),
        blocked=bool(doc.get("blocked", False)),
        cancelled=bool(doc.get("cancelled", False)),
        answer_style=doc.get("answer_style", "exact"),
    )
    if "atr" in doc:
        card.atr = bytes.fromhex(doc["atr"])
    return card


# a card file is under a kilobyte; refuse what cannot be one before parsing it
MAX_CARD_FILE = 1 << 16


def load_card_file(path: Path) -> VirtualCard | VirtualPsam:
    """Read a card file (see the module docstring); ValueError when it is not one."""
    with path.open("rb") as f:
        data = f.read(MAX_CARD_FILE + 1)
    if len(data) > MAX_CARD_FILE:
        raise ValueError(f"larger than {MAX_CARD_FILE} bytes")
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        return card_from_dict(doc)
    except (RecursionError, TypeError, AttributeError) as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from None
