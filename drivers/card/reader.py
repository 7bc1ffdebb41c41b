"""Reading a social security card through a PSAM (card.md), producing a `CardRead`.

A 3.00 card: select MF, SSSE, EF05 and its seven elements; external authentication through the
PSAM (which unlocks EF06); EF06 and its elements; internal authentication (card C against PSAM E).
27 APDUs in all; no select is repeated and every READ RECORD asks for the right Le first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from drivers.card.codec import decode_an, decode_cn, decode_gbk
from drivers.card.errors import CardError
from drivers.card.iso7816 import Iso7816Protocol
from drivers.card.session import (
    FID_HOLDER,
    FID_ISSUER,
    KEY_EXTERNAL,
    KEY_INTERNAL,
    PsamSession,
    SocialSecurityCardSession,
)

__all__ = ["CardRead", "read_card"]

# EF05 and EF06 elements: tag → (name, length in bytes), card.md tables
ISSUER = ((0x01, 16), (0x02, 1), (0x03, 4), (0x04, 12), (0x05, 4), (0x06, 4), (0x07, 9))
HOLDER = ((0x08, 18), (0x09, 30), (0x0A, 1), (0x0B, 1), (0x0C, 3), (0x0D, 4))
TAG_NAME_EXT = 0x4E


@dataclass(frozen=True, slots=True)
class CardRead:
    """Everything a read gives (card.md "What a read gives the rest of the system")."""

    card_sn: str
    card_category: str
    spec_version: str
    init_org_code: str
    issue_date: str
    expiry_date: str
    card_no: str
    atr_hist: str
    psn_cert: str | None
    psn_name: str | None
    sex: str | None
    ethnicity: str | None
    birthplace: str | None
    birth_date: str | None
    terminal_no: str
    authenticated: bool

    @property
    def issuing_region(self) -> str:
        return self.card_sn[:6]

    @property
    def holder_read(self) -> bool:
        return self.psn_cert is not None


def _atr_historical(atr: bytes) -> str:
    """The historical bytes of an ATR (ISO 7816-3: T0's low nibble counts them)."""
    if len(atr) < 2:
        return ""
    k = atr[1] & 0x0F
    y, i = atr[1] >> 4, 2
    while True:
        i += bin(y).count("1")
        if not (y & 0x8) or i > len(atr):
            break
        y = atr[i - 1] >> 4
    return atr[i : i + k].hex().upper()


def read_card(
    card: Iso7816Protocol,
    psam: Iso7816Protocol | None,
    *,
    atr: bytes = b"",
    pin: str | None = None,
    terminal_no: str | None = None,
) -> CardRead:
    """Read and authenticate a card; raises CardError with card.md's reason on any refusal.

    `terminal_no` is the PSAM's number read earlier (the PSAM is read once per reset); without it
    and with a PSAM, it is read here.
    """
    ssc = SocialSecurityCardSession(card)
    ssc.select_mf()
    ssc.select_ssse()
    ssc.select_file(FID_ISSUER)
    raw = {tag: ssc.read_element(tag, length) for tag, length in ISSUER}
    values = {tag: v for tag, v in raw.items() if v is not None}
    card_sn = decode_cn(values[0x01], keep_f=True)
    version = decode_an(values[0x03])
    sam = PsamSession(psam) if psam is not None else None
    if sam is not None and terminal_no is None:
        terminal_no = sam.terminal_number()
    sn_bytes = values[0x01]
    if len(sn_bytes) != 16:
        raise CardError("card identification code is not 16 bytes", "malformed_answer")
    holder: dict[int, bytes] = {}
    authenticated = False
    if sam is not None or version != "3.00":
        if version == "3.00" and sam is not None:
            challenge = ssc.get_challenge()
            answer = sam.encrypt(KEY_EXTERNAL, sn_bytes, challenge + bytes(8))
            ssc.external_authenticate(answer)
        if pin is not None:
            if ssc.pin_tries() is not None:
                ssc.verify_pin(pin)
        ssc.select_file(FID_HOLDER)
        for tag, length in HOLDER:
            value = ssc.read_element(tag, length)
            assert value is not None
            holder[tag] = value
        ext = ssc.read_element(TAG_NAME_EXT, 20, optional=True)
        if ext is not None:
            holder[TAG_NAME_EXT] = ext
    if sam is not None:
        challenge = os.urandom(16)
        c = ssc.internal_authenticate(challenge)
        e = sam.encrypt(KEY_INTERNAL, sn_bytes, challenge)
        if c != e:
            raise CardError(
                "this card failed authentication (counterfeit): do not accept it", "counterfeit"
            )
        authenticated = True
    name = None
    if holder:
        name = decode_gbk(holder[0x09]) + (
            decode_gbk(holder[TAG_NAME_EXT]) if TAG_NAME_EXT in holder else ""
        )
    return CardRead(
        card_sn=card_sn,
        card_category=decode_an(values[0x02]),
        spec_version=version,
        init_org_code=decode_cn(values[0x04]),
        issue_date=decode_cn(values[0x05]),
        expiry_date=decode_cn(values[0x06]),
        card_no=decode_an(values[0x07]),
        atr_hist=_atr_historical(atr),
        psn_cert=decode_an(holder[0x08]) if holder else None,
        psn_name=name,
        sex=decode_an(holder[0x0A]) if holder else None,
        ethnicity=decode_cn(holder[0x0B]) if holder else None,
        birthplace=decode_cn(holder[0x0C]) if holder else None,
        birth_date=decode_cn(holder[0x0D]) if holder else None,
        terminal_no=terminal_no or "",
        authenticated=authenticated,
    )
