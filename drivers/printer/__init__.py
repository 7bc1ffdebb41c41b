"""medpos drivers/printer: receipts as ESC/POS and HTML, and the printers they go to
(docs/printer.md).

    receipt   Receipt, ReceiptLine (values, int fen), labels, `present` (the shared text)
    columns   GB18030 display widths, wrapping
    qrcodes   the verify QR code (error correction M)
    escpos    escpos_bytes(receipt, width) -> bytes            pure
    html      receipt_html(receipt) -> str                     pure
    pdf       receipt_pdf(receipt) -> bytes (imported where used: fpdf2 and the CJK font)
    sinks     open_printer(kind, ...) -> ReceiptPrinter; .print(receipt) -> PrintResult
    errors    PrinterError (DriverError)
"""

from __future__ import annotations

from drivers.printer.errors import PrinterError
from drivers.printer.escpos import escpos_bytes
from drivers.printer.html import receipt_html
from drivers.printer.receipt import KeptSale, Receipt, ReceiptLine, format_fen
from drivers.printer.sinks import PrintResult, ReceiptPrinter, open_printer

__all__ = [
    "KeptSale",
    "PrintResult",
    "PrinterError",
    "Receipt",
    "ReceiptLine",
    "ReceiptPrinter",
    "escpos_bytes",
    "format_fen",
    "open_printer",
    "receipt_html",
]
