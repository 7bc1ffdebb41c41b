"""Where receipts go: a folder, a network printer (raw TCP, port 9100), a USB printer, or nowhere
(docs/printer.md "Printers"). Chosen by `open_printer` from the [printer] config section.

`print` renders and delivers in one call and can be repeated (a reprint sends the same bytes
again). Whatever fails, `print` raises PrinterError and nothing else: the sale is already
committed, and the caller shows the message and offers a reprint.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from drivers.printer.errors import PrinterError
from drivers.printer.escpos import DOTS, escpos_bytes
from drivers.printer.html import receipt_html
from drivers.printer.receipt import Receipt

__all__ = [
    "FilePrinter",
    "NetworkPrinter",
    "NullPrinter",
    "PrintResult",
    "ReceiptPrinter",
    "UsbPrinter",
    "open_printer",
]

log = logging.getLogger(__name__)

KINDS = ("file", "network", "usb", "none")
NETWORK_TIMEOUT_S = 10.0
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True, slots=True)
class PrintResult:
    """Where a receipt went (`where`: file paths, "host:port", "usb 0416:5011" or "none") and how
    many ESC/POS bytes were delivered (0 for "none")."""

    kind: str
    where: tuple[str, ...]
    byte_count: int


class ReceiptPrinter(Protocol):
    """Prints a receipt; raises PrinterError only."""

    def print(self, receipt: Receipt) -> PrintResult: ...


@contextmanager
def _translated(where: str, hint: str) -> Iterator[None]:
    """Turns anything raised while printing into PrinterError naming `where` and what to do."""
    try:
        yield
    except PrinterError:
        raise
    except OSError as exc:
        raise PrinterError(f"printing to {where} failed: {exc}: {hint}") from exc
    except Exception as exc:  # the sale is committed: the caller must get a PrinterError
        log.exception("printing to %s failed", where)
        raise PrinterError(
            f"printing to {where} failed ({type(exc).__name__}: {exc}): {hint}"
        ) from exc


def _file_stem(txn_id: str) -> str:
    """A file name from a txn_id: nothing but [A-Za-z0-9_.-], never hidden or a path."""
    stem = _UNSAFE.sub("_", txn_id).lstrip(".")
    return stem or "receipt"


def _write_atomically(path: Path, data: bytes) -> None:
    """`path` holds `data` or what it held before, never a mix: temp file, fsync, rename."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


class FilePrinter:
    """Writes `<txn_id>.escpos` and `<txn_id>.html` into a folder; a reprint replaces them."""

    def __init__(self, path: Path, width: int) -> None:
        self.path = path
        self.width = width

    def print(self, receipt: Receipt) -> PrintResult:
        with _translated(
            str(self.path), "check that [printer] path is a writable folder, then reprint"
        ):
            data = escpos_bytes(receipt, self.width)
            page = receipt_html(receipt).encode("utf-8")
            self.path.mkdir(parents=True, exist_ok=True)
            stem = _file_stem(receipt.txn_id)
            escpos_path = self.path / f"{stem}.escpos"
            html_path = self.path / f"{stem}.html"
            _write_atomically(escpos_path, data)
            _write_atomically(html_path, page)
        log.info("receipt %s written to %s", receipt.txn_id, escpos_path)
        return PrintResult("file", (str(escpos_path), str(html_path)), len(data))


class NetworkPrinter:
    """Sends the ESC/POS stream over raw TCP (the "JetDirect" port, usually 9100)."""

    def __init__(self, host: str, port: int, width: int, timeout_s: float) -> None:
        self.host = host
        self.port = port
        self.width = width
        self.timeout_s = timeout_s

    def print(self, receipt: Receipt) -> PrintResult:
        where = f"{self.host}:{self.port}"
        hint = "check that the printer is on and [printer] host/port, then reprint"
        with _translated(where, hint):
            data = escpos_bytes(receipt, self.width)
            with socket.create_connection((self.host, self.port), timeout=self.timeout_s) as conn:
                conn.sendall(data)
                # The printer reads until the connection ends; a half-close says "that is all"
                # without waiting for an answer a raw-port printer never sends.
                conn.shutdown(socket.SHUT_WR)
        log.info("receipt %s sent to %s (%d bytes)", receipt.txn_id, where, len(data))
        return PrintResult("network", (where,), len(data))


class UsbPrinter:
    """Sends the ESC/POS stream to a USB printer through python-escpos (pyusb), opened per print
    so that a printer unplugged and plugged back in prints the reprint."""

    def __init__(self, vendor: int, product: int, width: int) -> None:
        self.vendor = vendor
        self.product = product
        self.width = width

    def print(self, receipt: Receipt) -> PrintResult:
        where = f"usb {self.vendor:04x}:{self.product:04x}"
        hint = "check the cable and [printer] usb_vendor/usb_product, then reprint"
        with _translated(where, hint):
            data = escpos_bytes(receipt, self.width)
            from escpos.exceptions import DeviceNotFoundError  # lazily: pyusb is optional
            from escpos.printer import Usb

            if not Usb.is_usable():
                raise PrinterError(
                    "USB printing needs pyusb, which is not installed: install it"
                    " (pip install pyusb) or set [printer] kind to another printer"
                )
            device = Usb(self.vendor, self.product)
            try:
                device.open()
            except DeviceNotFoundError as exc:
                raise PrinterError(f"printer not found ({where}): {hint}") from exc
            try:
                device._raw(data)
            finally:
                device.close()
        log.info("receipt %s sent to %s (%d bytes)", receipt.txn_id, where, len(data))
        return PrintResult("usb", (where,), len(data))


class NullPrinter:
    """Prints nothing ([printer] kind = "none")."""

    def print(self, receipt: Receipt) -> PrintResult:
        return PrintResult("none", ("none",), 0)


def open_printer(
    kind: str,
    *,
    path: Path,
    host: str,
    port: int,
    usb_vendor: int,
    usb_product: int,
    width: int = 32,
    timeout_s: float = NETWORK_TIMEOUT_S,
) -> ReceiptPrinter:
    """The printer [printer] describes; PrinterError names a setting that cannot work. Opens
    nothing: each `print` connects."""
    if width not in DOTS:
        raise PrinterError(f"printer width {width}: use 32 (58 mm paper) or 48 (80 mm paper)")
    if kind == "file":
        return FilePrinter(Path(path), width)
    if kind == "network":
        if not host or not 0 < port < 65536:
            raise PrinterError(f"network printer {host!r}:{port}: set [printer] host and port")
        return NetworkPrinter(host, port, width, timeout_s)
    if kind == "usb":
        if not (0 < usb_vendor <= 0xFFFF and 0 < usb_product <= 0xFFFF):
            raise PrinterError(
                "USB printer: set [printer] usb_vendor and usb_product (see `lsusb`)"
            )
        return UsbPrinter(usb_vendor, usb_product, width)
    if kind == "none":
        return NullPrinter()
    raise PrinterError(f"printer kind {kind!r}: use one of {', '.join(KINDS)}")
