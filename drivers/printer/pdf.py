"""The receipt as a PDF (docs/printer.md "PDF"): an 80 mm wide page laid out from the same
presentation as ESC/POS and HTML (`present`), with the verify QR code as an image. Pure apart from
reading the font file.

Chinese needs a CJK font embedded in the file: the Noto Sans CJK collection that Debian's
`fonts-noto-cjk` installs (`make setup`), face "Noto Sans CJK SC"; fpdf2 embeds only the glyphs
used. A missing font is a `PrinterError` that says which file and how to install it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fpdf import FPDF

from drivers.printer.errors import PrinterError
from drivers.printer.qrcodes import build_qr
from drivers.printer.receipt import Field, ItemView, Receipt, present

__all__ = ["CJK_FONT", "receipt_pdf"]

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
_SC_FACE = 2  # the collection's faces: JP, KR, SC, TC, HK, then the Mono ones
_WIDTH_MM = 80.0
_MARGIN_MM = 4.0
_ROW_MM = 4.6
_QR_MM = 30.0


class _Page:
    def __init__(self, pdf: FPDF) -> None:
        self.pdf = pdf
        self.inner = _WIDTH_MM - 2 * _MARGIN_MM

    def text(self, text: str, align: str = "L", size: float = 8.5) -> None:
        self.pdf.set_font("cjk", size=size)
        self.pdf.multi_cell(self.inner, _ROW_MM, text, align=align, new_x="LMARGIN", new_y="NEXT")

    def row(self, left: str, right: str) -> None:
        self.pdf.set_font("cjk", size=8.5)
        half = self.inner / 2
        self.pdf.cell(self.inner - half, _ROW_MM, left)
        self.pdf.cell(half, _ROW_MM, right, align="R", new_x="LMARGIN", new_y="NEXT")

    def rule(self) -> None:
        y = self.pdf.get_y() + 1
        self.pdf.set_dash_pattern(dash=0.8, gap=0.8)
        self.pdf.line(_MARGIN_MM, y, _WIDTH_MM - _MARGIN_MM, y)
        self.pdf.set_y(y + 1)

    def fields(self, fields: tuple[Field, ...]) -> None:
        for field in fields:
            self.row(field.label, field.value)

    def items(self, items: tuple[ItemView, ...]) -> None:
        for item in items:
            self.text(item.name)
            self.row("  " + item.quantity, item.amount)
            if item.detail:
                self.text("  " + item.detail, size=7.5)


def receipt_pdf(receipt: Receipt, font: Path = CJK_FONT) -> bytes:
    """The receipt as the bytes of a one-page PDF (it flows onto more when very long)."""
    if not font.is_file():
        raise PrinterError(
            f"the CJK font {font} is missing, so a PDF receipt cannot be made: install "
            "fonts-noto-cjk (`make setup` does)"
        )
    view = present(receipt)
    rows = len(view.header) + len(view.totals) + len(view.footer) + 3 * len(view.items) + 12
    rows += sum(3 * len(s.items) + len(s.totals) + 2 for s in view.sections)
    height = 2 * _MARGIN_MM + rows * _ROW_MM + (_QR_MM + 10 if view.verify_text else 0)
    pdf = FPDF(unit="mm", format=(_WIDTH_MM, max(height, 100.0)))
    pdf.set_margins(_MARGIN_MM, _MARGIN_MM, _MARGIN_MM)
    pdf.set_auto_page_break(True, _MARGIN_MM)
    pdf.set_title(f"{view.title} {receipt.txn_id}")
    pdf.set_lang(view.lang_tag)
    try:  # the sale's time, not now: the same receipt makes the same file
        pdf.set_creation_date(datetime.fromisoformat(receipt.settled_at))
    except ValueError:
        pass
    try:
        pdf.add_font("cjk", fname=str(font), collection_font_number=_SC_FACE)
    except Exception as exc:  # noqa: BLE001 - fontTools' errors have no common base
        raise PrinterError(
            f"the font {font} cannot be read ({exc}): reinstall fonts-noto-cjk"
        ) from exc
    pdf.add_page()
    page = _Page(pdf)
    page.text(view.shop_name, "C", 11)
    page.text(view.title, "C", 10)
    for marker in view.markers:
        page.text(f"*** {marker} ***", "C", 9.5)
    page.rule()
    page.fields(view.header)
    page.rule()
    page.items(view.items)
    page.rule()
    page.fields(view.totals)
    page.rule()
    for section in view.sections:
        page.text(section.title, "C", 9)
        page.items(section.items)
        page.fields(section.totals)
        page.rule()
    page.fields(view.footer)
    if view.verify_text:
        image = build_qr(view.verify_text, box_size=8).make_image().get_image()
        pdf.image(image, x=(_WIDTH_MM - _QR_MM) / 2, y=pdf.get_y() + 2, w=_QR_MM, h=_QR_MM)
        pdf.set_y(pdf.get_y() + _QR_MM + 3)
        page.text(view.verify_label, "C", 8)
    return bytes(pdf.output())
