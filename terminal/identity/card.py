"""From a card read to a verified identity (card.md "Checks the terminal makes")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from drivers.card.errors import CardError
from drivers.card.reader import CardRead
from terminal.errors import IdentityError
from terminal.identity.hotlist import HotlistIndex, hotlist_match
from terminal.identity.model import CERT_CARD, Identity
from terminal.settlement import id_check_ok

__all__ = ["CARD_MESSAGES", "identity_from_card", "read_card_data"]

SUPPORTED_VERSIONS = ("1.00", "2.00", "3.00")
SUPPORTED_CATEGORIES = ("1", "2", "3", "4")

CARD_MESSAGES = {
    "counterfeit": "this card failed authentication: do not accept it; call the supervisor",
    "expired": "this card has expired: ask for the e-card code or a new card",
    "hotlisted": "this card is blocked by the platform: do not settle; send the customer to the "
    "insurance office",
    "unsupported_version": "this card version is not supported: use the e-card code",
    "unsupported_category": "this card category is not supported: use the e-card code",
    "bad_id_number": "the ID number on this card is invalid: do not settle; use the e-card code",
    "holder_unread": "the holder could not be read without the PSAM: check the SAM reader",
    "not_authenticated": "the card could not be authenticated (no PSAM): it cannot be settled",
}


def read_card_data(reader: str, sam: str | None, *, pin: str | None = None) -> CardRead:
    """Connect to the card (and the PSAM) by reader-name substring and read it."""
    from drivers.card.iso7816 import Iso7816Protocol
    from drivers.card.pcsc import PcscConnection
    from drivers.card.reader import read_card

    card = PcscConnection(reader)
    psam = None
    try:
        if sam:
            try:
                psam = PcscConnection(sam)
            except CardError as exc:
                raise CardError(f"PSAM: {exc}", "psam_error") from exc
        return read_card(
            Iso7816Protocol(card),
            Iso7816Protocol(psam) if psam is not None else None,
            atr=card.atr,
            pin=pin,
        )
    finally:
        card.close()
        if psam is not None:
            psam.close()


def identity_from_card(
    read: CardRead, hotlist: Mapping[str, Any] | HotlistIndex | None, today: date
) -> Identity:
    """The settleable identity of a card read; raises IdentityError with card.md's reason."""

    def refuse(code: str) -> IdentityError:
        return IdentityError(code, CARD_MESSAGES[code])

    if read.spec_version not in SUPPORTED_VERSIONS:
        raise refuse("unsupported_version")
    if read.card_category not in SUPPORTED_CATEGORIES:
        raise refuse("unsupported_category")
    if read.expiry_date < today.strftime("%Y%m%d"):
        raise refuse("expired")
    if hotlist_match(hotlist, card_no=read.card_no, card_sn=read.card_sn, psn_cert=read.psn_cert):
        raise refuse("hotlisted")
    if read.psn_cert is None:
        raise refuse("holder_unread")
    if not id_check_ok(read.psn_cert) or read.psn_cert[6:14] != read.birth_date:
        raise refuse("bad_id_number")
    if not read.authenticated:
        raise refuse("not_authenticated")
    return Identity(
        psn_cert=read.psn_cert,
        name=read.psn_name or "",
        mdtrt_cert_type=CERT_CARD,
        mdtrt_cert_no=read.card_no,
        card_no=read.card_no,
        card_sn=read.card_sn,
        authenticated=True,
    )
