"""The verify QR code both renderers draw: error correction M (docs/printer.md "QR code")."""

from __future__ import annotations

from typing import Any

import qrcode
from qrcode.exceptions import DataOverflowError

from drivers.printer.errors import PrinterError

__all__ = ["QUIET_MODULES", "build_qr"]

QUIET_MODULES = 4  # the quiet zone ISO/IEC 18004 asks for, on each side


def build_qr(text: str, **options: Any) -> Any:
    """A fitted `qrcode.QRCode` of `text` (options go to `QRCode`); PrinterError if too long."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_MODULES, **options
    )
    code.add_data(text)
    try:
        code.make(fit=True)
    except DataOverflowError as exc:
        raise PrinterError(
            f"the verify text ({len(text)} characters) does not fit in a QR code: shorten it"
        ) from exc
    return code
