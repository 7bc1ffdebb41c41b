"""Printers for real: a folder on disk, and a raw TCP printer port served on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from drivers.printer import (
    PrinterError,
    PrintResult,
    ReceiptPrinter,
    escpos_bytes,
    open_printer,
    receipt_html,
)
from terminal.errors import DriverError
from tests.unit.printer.helpers import sample_receipt

NO_USB = {"usb_vendor": 0, "usb_product": 0}


def _file_printer(path: Path, width: int = 32) -> ReceiptPrinter:
    return open_printer("file", path=path, host="", port=9100, width=width, **NO_USB)


def test_the_file_printer_writes_the_escpos_and_html_receipts(tmp_path: Path) -> None:
    receipt = sample_receipt()
    folder = tmp_path / "var" / "receipts"  # created on the first print
    result = _file_printer(folder, width=48).print(receipt)
    escpos_path = folder / f"{receipt.txn_id}.escpos"
    html_path = folder / f"{receipt.txn_id}.html"
    assert result == PrintResult(
        "file", (str(escpos_path), str(html_path)), len(escpos_bytes(receipt, 48))
    )
    assert escpos_path.read_bytes() == escpos_bytes(receipt, 48)
    assert html_path.read_text(encoding="utf-8") == receipt_html(receipt)


def test_a_reprint_replaces_the_files_cleanly(tmp_path: Path) -> None:
    printer = _file_printer(tmp_path)
    first = sample_receipt()
    printer.print(first)
    second = sample_receipt(language="en", psn_name="Zhang Wei")
    printer.print(second)
    assert (tmp_path / f"{first.txn_id}.escpos").read_bytes() == escpos_bytes(second, 32)
    assert (tmp_path / f"{first.txn_id}.html").read_text(encoding="utf-8") == receipt_html(second)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"{first.txn_id}.escpos",
        f"{first.txn_id}.html",
    ]  # no temporary files left behind


def test_a_txn_id_cannot_write_outside_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "receipts"
    result = _file_printer(folder).print(sample_receipt(txn_id="../../etc/x y"))
    assert all(Path(p).parent == folder for p in result.where)
    assert sorted(p.name for p in folder.iterdir()) == ["_.._etc_x_y.escpos", "_.._etc_x_y.html"]


def test_an_unwritable_folder_gives_a_printer_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the receipts folder should be")
    with pytest.raises(PrinterError, match="not-a-folder.*writable folder"):
        _file_printer(blocker / "receipts").print(sample_receipt())
    with pytest.raises(PrinterError):
        _file_printer(blocker).print(sample_receipt())


@contextmanager
def _printer_port(connections: int) -> Iterator[tuple[int, list[bytes]]]:
    """A raw TCP printer port on 127.0.0.1: each connection's bytes, read to the end."""
    received: list[bytes] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)

    def serve() -> None:
        for _ in range(connections):
            conn, _addr = server.accept()
            with conn:
                chunks = []
                while chunk := conn.recv(4096):
                    chunks.append(chunk)
                received.append(b"".join(chunks))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], received
    finally:
        thread.join(timeout=10)
        server.close()
    assert not thread.is_alive()


def test_the_network_printer_receives_exactly_the_escpos_stream_each_print() -> None:
    receipt = sample_receipt()
    with _printer_port(connections=2) as (port, received):
        printer = open_printer("network", path=Path("."), host="127.0.0.1", port=port, **NO_USB)
        first = printer.print(receipt)
        again = printer.print(receipt)  # a reprint
    expected = escpos_bytes(receipt, 32)
    assert received == [expected, expected]
    assert first == again == PrintResult("network", (f"127.0.0.1:{port}",), len(expected))


def test_a_network_printer_that_does_not_answer_gives_a_printer_error_naming_it() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # free now, and nobody listens once closed
    printer = open_printer(
        "network", path=Path("."), host="127.0.0.1", port=port, timeout_s=2, **NO_USB
    )
    with pytest.raises(PrinterError, match=f"127.0.0.1:{port}.*host/port") as caught:
        printer.print(sample_receipt())
    assert isinstance(caught.value, DriverError)
    assert isinstance(caught.value.__cause__, OSError)


def test_a_usb_printer_that_is_not_there_gives_a_printer_error() -> None:
    # 0xFFFF is no vendor's id, so no machine running the tests has this printer
    printer = open_printer(
        "usb", path=Path("."), host="", port=9100, usb_vendor=0xFFFF, usb_product=0xFFFF
    )
    with pytest.raises(PrinterError, match="(?i)usb"):
        printer.print(sample_receipt())


def test_the_none_printer_prints_nothing() -> None:
    printer = open_printer("none", path=Path("."), host="", port=9100, **NO_USB)
    assert printer.print(sample_receipt()) == PrintResult("none", ("none",), 0)


@pytest.mark.parametrize(
    ("kind", "changes", "message"),
    [
        ("laser", {}, "printer kind 'laser'"),
        ("file", {"width": 40}, "32 .* or 48"),
        ("network", {"host": ""}, "set \\[printer\\] host"),
        ("usb", {}, "usb_vendor and usb_product"),
    ],
)
def test_a_printer_setting_that_cannot_work_is_refused_up_front(
    kind: str, changes: dict[str, object], message: str
) -> None:
    settings: dict[str, object] = {"path": Path("."), "host": "printer", "port": 9100, **NO_USB}
    with pytest.raises(PrinterError, match=message):
        open_printer(kind, **{**settings, **changes})  # type: ignore[arg-type]
