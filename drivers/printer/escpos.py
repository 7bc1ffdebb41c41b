"""The ESC/POS byte stream of a receipt (docs/printer.md), for 58 mm (32 columns) and 80 mm
(48 columns) thermal printers. Pure: nothing here opens a device.

Chinese text: Chinese thermal printers print GB18030 in their Chinese character mode. python-escpos
`text()` never enters that mode and encodes a string as GB18030 only when it holds a common
ideograph, else through single-byte code pages with ESC t switches, which a printer in Chinese
mode misreads. So `text()` is not used: the stream enters Chinese mode once after ESC @ (FS &,
0x1C 0x26) and sends every text line as raw GB18030 bytes (`Dummy._raw`) after
`columns.printable` has reduced it to what prints as one glyph, so that the column count
(ASCII 1, Chinese 2) is exact. python-escpos still builds the commands: styles, the native QR
code (GS ( k) and the cut (GS V).

python-escpos is imported at the first receipt, not with this module: at import it reads its
printer database (`escpos.capabilities`), which `_escpos_cache` keeps for the next process.
"""

from __future__ import annotations

import functools
from typing import Any

from drivers.printer._escpos_cache import keep_capabilities
from drivers.printer.columns import printable, row, wrap
from drivers.printer.qrcodes import QUIET_MODULES, build_qr
from drivers.printer.receipt import Field, ItemView, Receipt, present

__all__ = ["DOTS", "FS_CHINESE_OFF", "FS_CHINESE_ON", "escpos_bytes", "qr_module_dots"]

ESC_INIT = b"\x1b@"  # ESC @: initialize
FS_CHINESE_ON = b"\x1c&"  # FS &: Chinese character mode (GB18030 two-byte codes)
FS_CHINESE_OFF = b"\x1c."  # FS .: back to single-byte mode
LF = b"\n"
INDENT = "  "

# Printable dots per line at 203 dpi (8 dots/mm) for font A (12 dots a column).
DOTS = {32: 384, 48: 576}  # 58 mm paper: 48 mm printable; 80 mm paper: 72 mm printable
QR_MAX_MODULE_DOTS = 6  # about 0.75 mm a module: reads easily, leaves the code ~30 mm wide


def qr_module_dots(text: str, width: int) -> int:
    """The QR module size (dots) that fits `text`'s code, quiet zone included, on the paper."""
    modules = int(build_qr(text).modules_count) + 2 * QUIET_MODULES
    return max(1, min(QR_MAX_MODULE_DOTS, DOTS[width] // modules))


@functools.cache
def _escpos() -> tuple[Any, int]:
    """python-escpos's `Dummy` printer and its QR error correction M, imported on first use."""
    keep_capabilities()
    from escpos.constants import QR_ECLEVEL_M
    from escpos.printer import Dummy

    return Dummy, QR_ECLEVEL_M


class _Stream:
    """A python-escpos `Dummy` that takes text lines as GB18030."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.printer = _escpos()[0]()

    def lines(self, lines: list[str]) -> None:
        for line in lines:
            self.printer._raw(line.encode("gb18030") + LF)

    def text(self, text: str) -> None:
        self.lines(wrap(printable(text), self.width, INDENT))

    def field(self, field: Field) -> None:
        self.text(f"{field.label}: {field.value}")

    def row(self, left: str, right: str) -> None:
        self.lines(row(printable(left), printable(right), self.width, INDENT))

    def rule(self) -> None:
        self.lines(["-" * self.width])


def _items(out: _Stream, items: tuple[ItemView, ...]) -> None:
    for item in items:
        out.text(item.name)
        out.row(INDENT + item.quantity, item.amount)
        if item.detail:
            out.text(INDENT + item.detail)


def escpos_bytes(receipt: Receipt, width: int = 32) -> bytes:
    """The receipt as ESC/POS for a printer `width` columns wide (32: 58 mm, 48: 80 mm)."""
    if width not in DOTS:
        raise ValueError(f"width {width}: a receipt is 32 (58 mm) or 48 (80 mm) columns")
    view = present(receipt)
    out = _Stream(width)
    p = out.printer
    p._raw(ESC_INIT + FS_CHINESE_ON)

    # GS ! (custom size) and not ESC !: ESC ! sizes only single-byte characters, GS ! all of them.
    p.set(align="center", bold=True, custom_size=True, width=1, height=2)
    out.text(view.shop_name)
    p.set(custom_size=True, width=1, height=1)
    out.text(view.title)
    for marker in view.markers:
        out.text(f"*** {marker} ***")
    p.set(align="left", bold=False)
    out.rule()
    for field in view.header:
        out.field(field)
    out.rule()
    _items(out, view.items)
    out.rule()
    for field in view.totals:
        out.row(field.label, field.value)
    out.rule()
    for section in view.sections:  # a partial refund's kept sale
        out.text(section.title)
        _items(out, section.items)
        for field in section.totals:
            out.row(field.label, field.value)
        out.rule()
    for field in view.footer:
        out.field(field)

    if view.verify_text:
        p.set(align="center")
        p._raw(LF)
        p.qr(
            view.verify_text,
            ec=_escpos()[1],
            size=qr_module_dots(view.verify_text, width),
            native=True,  # the printer draws it: a few bytes instead of a raster image
        )
        out.text(view.verify_label)
        p.set(align="left")
    p._raw(FS_CHINESE_OFF)
    p.cut()
    return bytes(p.output)
