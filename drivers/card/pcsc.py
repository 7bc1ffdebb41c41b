"""The PC/SC transport (pyscard): the only module that imports `smartcard`.

`list[int]` ↔ `bytes` happens here, and pyscard's exceptions become `CardError`s with card.md's
reasons ("card removed: insert it again", "no reader …").
"""

from __future__ import annotations

from typing import Any

from smartcard.Exceptions import CardConnectionException, NoCardException
from smartcard.System import readers as _readers

from drivers.card.errors import CardRemovedError, NoCardError, ReaderError

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

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        try:
            data, sw1, sw2 = self._conn.transmit(list(apdu))
        except CardConnectionException as exc:
            raise CardRemovedError() from exc
        return bytes(data), (sw1 << 8) | sw2

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
