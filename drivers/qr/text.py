"""A payload's text (ecard-qr.md "The commands"; trace-codes.md: `medpos qr decode`): by the
symbol's ECI when it has one, else by the character set a QR reader infers; None when the
payload is not text in any character set the symbol allows. Pure.

A symbol with an ECI (symbology identifier `]Q2`, `]Q4`, `]Q6` for QR, `]d4`–`]d6` for Data
Matrix) allows that ECI's character set only: zxing-cpp transcodes by it (`Barcode.text` in
plain text mode). Without one, zxing-cpp's own guess comes first (a QR symbol whose Kanji
segments are Shift_JIS gives its Japanese text); when that guess is not text (zxing-cpp reads
an unmarked byte segment as ISO-8859-1 unless it is valid UTF-8, so Shift_JIS bytes come out as
control characters), the character sets a QR reader tries are tried in its order: UTF-8,
Shift_JIS (JIS X 0510, the QR code's home), ISO-8859-1 (ISO/IEC 18004's default; Data
Matrix's too). Text means no control character other than tab, CR, LF and GS (a GS1 symbol's
FNC1 separator).
"""

from __future__ import annotations

import unicodedata

__all__ = ["ECI_IDENTIFIERS", "INFERRED_CHARSETS", "is_text", "payload_text"]

# symbology identifiers (ISO/IEC 15424) that say the symbol carries an ECI
ECI_IDENTIFIERS = ("]Q2", "]Q4", "]Q6", "]d4", "]d5", "]d6")
INFERRED_CHARSETS = ("utf-8", "shift_jis", "iso-8859-1")
_ALLOWED_CONTROLS = frozenset("\t\r\n\x1d")


def is_text(value: str) -> bool:
    """True when `value` holds no control character but tab, CR, LF and GS."""
    return all(c in _ALLOWED_CONTROLS or unicodedata.category(c) not in ("Cc", "Cs") for c in value)


def payload_text(
    data: bytes, *, reader_text: str | None = None, symbology: str | None = None
) -> str | None:
    """The text of payload `data`; `reader_text` is what the decoder transcoded (zxing-cpp's
    plain-mode `.text`), `symbology` its symbology identifier."""
    if reader_text is not None and is_text(reader_text):
        return reader_text
    if symbology in ECI_IDENTIFIERS:
        return None  # the ECI's character set is the only one the symbol allows
    for charset in INFERRED_CHARSETS:
        try:
            text = data.decode(charset)
        except UnicodeDecodeError:
            continue
        if is_text(text):
            return text
    return None
