"""The PC/SC transport (pyscard): the only module that imports `smartcard`.

`list[int]` ↔ `bytes` happens here, and pyscard's exceptions become `CardError`s with card.md's
reasons ("card removed: insert it again", "no reader …").
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from smartcard import scard
from smartcard.Exceptions import CardConnectionException, NoCardException
from smartcard.pcsc.PCSCCardConnection import translateprotocolheader
from smartcard.System import readers as _readers

from drivers.card.errors import (
    CardRemovedError,
    CardResetError,
    MalformedAnswerError,
    NoCardError,
    ReaderError,
)

__all__ = [
    "PcscConnection",
    "card_atr",
    "find_reader",
    "list_readers",
    "reset_card",
    "wait_for_change",
]

_SCARD_ABSENT = 0x0002  # pcsclite.h reader state from SCardStatus (pyscard does not export it)


def list_readers() -> list[str]:
    """Names of the PC/SC readers pcscd sees now (re-read on every call)."""
    try:
        return [str(r) for r in _readers()]
    except Exception as exc:  # pcscd not running, or no reader: pyscard raises several kinds
        raise ReaderError(
            f"cannot list card readers ({exc}): is pcscd running? (`systemctl start pcscd` or "
            "`pcscd --foreground`)"
        ) from exc


def find_reader(substring: str) -> Any:
    """The pyscard reader whose name contains `substring`."""
    try:
        found = [r for r in _readers() if substring in str(r)]
    except Exception as exc:
        raise ReaderError(f"cannot list card readers ({exc}): is pcscd running?") from exc
    if not found:
        raise ReaderError(
            f"no card reader named like {substring!r}: plug it in, or set [card] reader / sam in "
            "config.toml to a part of a name `pcsc_scan` shows"
        )
    return found[0]


class PcscConnection:
    """One connected card in one reader."""

    def __init__(self, substring: str) -> None:
        self.reader_name = substring
        reader = find_reader(substring)
        self._conn = reader.createConnection()
        try:
            self._conn.connect()
        except NoCardException:
            self.close()
            raise NoCardError(
                f"no card in {reader}: insert the card (chip up, facing in)"
            ) from None
        except Exception as exc:  # CardConnectionException and pyscard's other kinds
            self.close()
            raise NoCardError(
                f"cannot reach the card in {reader} ({exc}): insert it again"
            ) from exc
        try:
            self.atr = bytes(self._conn.getATR())
            # transmit on the PC/SC handle itself: pyscard's connection wrapper adds observers
            # and locking that a single-threaded reader does not need (about 25 µs per APDU)
            pcsc = self._conn.component
            self._hcard = pcsc.hcard
            self._pci = translateprotocolheader(pcsc.getProtocol())
        except Exception as exc:
            # "Card was reset" (0x80100068) after another handle reset the card, seen on the
            # PSAM after quick card swaps; or the card left between connect and status
            self.close()
            raise CardResetError(f"the card in {reader} was reset or left ({exc})") from exc

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        hresult, response = scard.SCardTransmit(self._hcard, self._pci, list(apdu))
        if hresult == scard.SCARD_W_RESET_CARD:
            raise CardResetError(f"the card in {self.reader_name} was reset")
        if hresult != scard.SCARD_S_SUCCESS:
            raise CardRemovedError() from CardConnectionException(
                scard.SCardGetErrorMessage(hresult), hresult=hresult
            )
        if len(response) < 2:
            # a reader may hand back an empty answer when the card left mid-exchange (vpcd does
            # when the socket closes): ask the handle before blaming the card
            if not self._still_present():
                raise CardRemovedError()
            raise MalformedAnswerError("the card answered with fewer than two bytes")
        return bytes(response[:-2]), (response[-2] << 8) | response[-1]

    def _still_present(self) -> bool:
        """True when the card on this handle is still powered in its reader.

        pcscd learns of a removal by polling the reader driver, so an absent card is looked for
        over one pcscd polling period (0.4 s; 0.6 s here) before the card is believed to be there.
        """
        for _ in range(24):
            hresult, _reader, state, _protocol, _atr = scard.SCardStatus(self._hcard)
            if hresult != scard.SCARD_S_SUCCESS or state & _SCARD_ABSENT:
                return False
            time.sleep(0.025)
        return True

    def close(self) -> None:
        """Disconnect and release the PC/SC context now: pyscard would release it when the
        object is collected, possibly after pcscd has gone ("Service not available")."""
        try:
            self._conn.disconnect()
        except Exception:  # noqa: BLE001,S110 - gone or reset already: nothing to release
            pass
        try:
            self._conn.release()
        except Exception:  # noqa: BLE001,S110 - pcscd gone: the context went with it
            pass


def card_atr(substring: str, *, with_events: bool = False) -> str | None:
    """The ATR (hex) of the card in that reader, or None when there is none; `with_events`
    adds pcscd's count of insertions and removals (`ATR#count`), so that two cards with the same
    ATR swapped between two looks are told apart.

    Asks pcscd for the reader's state (SCardGetStatusChange) without connecting: a connection
    would power the card up and disturb a read running on another handle.
    """
    try:
        name = str(find_reader(substring))
    except ReaderError:
        return None
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return None
    try:
        hresult, states = scard.SCardGetStatusChange(
            context, 0, [(name, scard.SCARD_STATE_UNAWARE)]
        )
        if hresult != scard.SCARD_S_SUCCESS or not states:
            return None  # the reader went away between listing and asking
        _reader, state, atr = states[0]
        if not _usable(state):
            return None
        text = bytes(atr).hex().upper()
        if text and with_events:
            return f"{text}#{state >> 16}"  # pcsc-lite: the event counter is the high 16 bits
        return text or None
    finally:
        scard.SCardReleaseContext(context)


def reset_card(substring: str) -> bool:
    """Reset the card in that reader as another application would (SCardReconnect with
    SCARD_RESET_CARD): every other handle on it then gets "Card was reset" (0x80100068), and vpcd
    sends the virtual card its reset command. True when the card was reset."""
    name = str(find_reader(substring))
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return False
    try:
        protocols = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        hresult, hcard, _protocol = scard.SCardConnect(
            context, name, scard.SCARD_SHARE_SHARED, protocols
        )
        if hresult != scard.SCARD_S_SUCCESS:
            return False
        hresult, _protocol = scard.SCardReconnect(
            hcard, scard.SCARD_SHARE_SHARED, protocols, scard.SCARD_RESET_CARD
        )
        scard.SCardDisconnect(hcard, scard.SCARD_LEAVE_CARD)
        return bool(hresult == scard.SCARD_S_SUCCESS)
    finally:
        scard.SCardReleaseContext(context)


def wait_for_change(present: Mapping[str, bool], timeout_s: float) -> None:
    """Block until a card enters or leaves one of these readers, or `timeout_s` passes.

    `present` is what the caller last saw (reader name → a card was in it); pcscd answers at once
    when a reader's state already differs, so a change between the caller's look and this call is
    not missed. A reader plugged in or out is seen by the caller's next look, after `timeout_s`.
    """
    if timeout_s <= 0:
        return
    if not present:
        time.sleep(timeout_s)
        return
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        time.sleep(timeout_s)
        return
    try:
        asked = [(name, scard.SCARD_STATE_UNAWARE) for name in present]
        hresult, states = scard.SCardGetStatusChange(context, 0, asked)
        if hresult != scard.SCARD_S_SUCCESS:
            time.sleep(timeout_s)  # a reader left, or pcscd went away: the next look says which
            return
        known = []
        for name, state, _atr in states:
            if _usable(state) != present[name]:
                return  # it changed since the caller looked
            known.append((name, state & ~scard.SCARD_STATE_CHANGED))
        started = time.monotonic()
        hresult, _ = scard.SCardGetStatusChange(context, int(timeout_s * 1000), known)
        if hresult not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
            time.sleep(max(0.0, timeout_s - (time.monotonic() - started)))
    finally:
        scard.SCardReleaseContext(context)


def _usable(state: int) -> bool:
    """A reader state (SCardGetStatusChange) with a card that answered its reset."""
    return bool(state & scard.SCARD_STATE_PRESENT) and not state & scard.SCARD_STATE_MUTE
