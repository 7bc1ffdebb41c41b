"""ISO 7816-4 over any transport: APDUs, status words, GET RESPONSE (61xx) and Le retry (6Cxx).

The transport's whole contract is `transmit(apdu: bytes) -> (data, sw)` (STYLE.md); this layer
never imports pyscard, so a scripted connection drives it in unit tests.
"""

from __future__ import annotations

import logging
from typing import Protocol

from drivers.card.errors import ApduError, MalformedAnswerError

__all__ = ["CardConnection", "Iso7816Protocol", "SW_OK"]

log = logging.getLogger(__name__)

SW_OK = 0x9000
INS_GET_RESPONSE = 0xC0
_MAX_CHAIN = 32  # 61xx answers followed for one command before the answer counts as malformed


class CardConnection(Protocol):
    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one command APDU; the response data and the status word."""
        ...


class Iso7816Protocol:
    """Commands with status-word handling; `apdus` counts what was sent."""

    def __init__(
        self, connection: CardConnection, *, redact: frozenset[int] = frozenset({0x20})
    ) -> None:
        self.connection = connection
        self.apdus = 0
        self._redact = redact  # INS codes whose data is never logged: VERIFY carries the PIN

    def _transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.apdus += 1
        data, sw = self.connection.transmit(apdu)
        if log.isEnabledFor(logging.DEBUG):
            shown = apdu[:5].hex() + ("…" if apdu[1] in self._redact else apdu[5:].hex())
            log.debug("> %s < %s %04X", shown, "(%d bytes)" % len(data), sw)
        return data, sw

    def send(
        self,
        cla: int,
        ins: int,
        p1: int,
        p2: int,
        data: bytes = b"",
        le: int | None = None,
        *,
        what: str = "",
        ok: tuple[int, ...] = (SW_OK,),
    ) -> tuple[bytes, int]:
        """Send a command; returns (data, sw) for a status word in `ok` (61xx is followed)."""
        apdu = bytes([cla, ins, p1, p2])
        if data:
            apdu += bytes([len(data)]) + data
        if le is not None:
            apdu += bytes([le & 0xFF])
        out, sw = self._transmit(apdu)
        if sw >> 8 == 0x6C:  # wrong Le: the card says the right one
            apdu = apdu[:-1] + bytes([sw & 0xFF]) if le is not None else apdu + bytes([sw & 0xFF])
            out, sw = self._transmit(apdu)
        chained = 0
        while sw >> 8 == 0x61:  # more data: GET RESPONSE
            chained += 1
            if chained > _MAX_CHAIN:
                raise MalformedAnswerError(f"{what}: endless 61xx answers")
            more, sw = self._transmit(bytes([0x00, INS_GET_RESPONSE, 0, 0, sw & 0xFF]))
            out += more
        if sw not in ok:
            raise ApduError(sw, what or f"command {ins:02X}")
        return out, sw
