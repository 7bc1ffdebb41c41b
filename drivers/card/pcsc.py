"""The PC/SC transport (pyscard): the only module that imports `smartcard`.

`list[int]` ↔ `bytes` happens here, and pyscard's exceptions become `CardError`s with card.md's
reasons ("card removed: insert it again", "no reader …").
"""

from __future__ import annotations

from typing import Any

from smartcard import scard
from smartcard.Exceptions import CardConnectionException, NoCardException
from smartcard.pcsc.PCSCCardConnection import translateprotocolheader
from smartcard.System import readers as _readers

from drivers.card.errors import CardRemovedError, MalformedAnswerError, NoCardError, ReaderError

__all__ = ["PcscConnection", "card_atr", "find_reader", "list_readers"]


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
            raise NoCardError(
                f"no card in {reader}: insert the card (chip up, facing in)"
            ) from None
        except CardConnectionException as exc:
            raise NoCardError(
                f"cannot reach the card in {reader} ({exc}): insert it again"
            ) from exc
        self.atr = bytes(self._conn.getATR())
        # transmit on the PC/SC handle itself: pyscard's connection wrapper adds observers and
        # locking that a single-threaded reader does not need (about 25 µs per APDU)
        pcsc = self._conn.component
        self._hcard = pcsc.hcard
        self._pci = translateprotocolheader(pcsc.getProtocol())

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        hresult, response = scard.SCardTransmit(self._hcard, self._pci, list(apdu))
        if hresult != scard.SCARD_S_SUCCESS:
            raise CardRemovedError() from CardConnectionException(
                scard.SCardGetErrorMessage(hresult), hresult=hresult
            )
        if len(response) < 2:
            raise MalformedAnswerError("the card answered with fewer than two bytes")
        return bytes(response[:-2]), (response[-2] << 8) | response[-1]

    def close(self) -> None:
        try:
            self._conn.disconnect()
        except CardConnectionException:
            pass  # the card is gone already: nothing to release


def card_atr(substring: str) -> str | None:
    """The ATR (hex) of the card in that reader, or None when there is none."""
    try:
        conn = find_reader(substring).createConnection()
        conn.connect()
    except (CardConnectionException, NoCardException, ReaderError):
        return None
    except Exception:  # the reader went away between listing and connecting
        return None
    try:
        return bytes(conn.getATR()).hex().upper()
    finally:
        try:
            conn.disconnect()
        except CardConnectionException:
            pass
