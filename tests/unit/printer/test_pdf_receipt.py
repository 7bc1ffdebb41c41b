"""The PDF receipt: its text read back with pypdf holds the amounts and the balance (a partial
refund's PDF, from the ledger, is read in tests/integration/sync/test_partial_refund_hub.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from drivers.printer import PrinterError
from drivers.printer.pdf import receipt_pdf
from tests.unit.printer.helpers import sample_receipt


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    # pypdf reads fpdf2's two-byte glyph codes of the embedded CJK font with a NUL before each
    # character: compare without NULs and whitespace
    text = "".join(page.extract_text() for page in reader.pages)
    return "".join(text.replace("\x00", "").split())


def test_a_sale_pdf_shows_its_split_and_the_account_balance_after() -> None:
    pdf = receipt_pdf(sample_receipt(acct_balance_fen=123456))
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    for words in ("医保结算单", "阿莫西林胶囊", "24.68", "统筹基金支付15.00", "个人账户支付4.68"):
        assert words in text
    assert "个人现金支付10.00" in text
    assert "个人账户余额1234.56" in text
    assert "P33010000001D0001-7" in text


def test_a_missing_font_is_said_with_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(PrinterError, match="fonts-noto-cjk"):
        receipt_pdf(sample_receipt(), font=tmp_path / "none.ttc")
