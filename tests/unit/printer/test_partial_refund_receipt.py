"""A partial refund's receipt says, in ESC/POS and HTML alike: refunded, partly, why, what was
given back and what was kept with its new split; a sale's says the account balance after."""

from __future__ import annotations

import pytest

from drivers.printer import KeptSale, Receipt, escpos_bytes, receipt_html
from drivers.printer.receipt import present
from tests.unit.printer.helpers import LINES, sample_receipt


def _refund() -> Receipt:
    return sample_receipt(
        kind="refund",
        orig_txn_id="P33010000001D0001-7",
        txn_id="P33010000001D0001-8",
        lines=LINES[1:],
        medfee_fen=-500,
        fund_fen=0,
        acct_fen=0,
        cash_fen=-500,
        reason="口罩未拆封",
        kept=KeptSale("P33010000001D0001-9", LINES[:1], 2468, 1500, 468, 500),
        acct_balance_fen=99532,
    )


def test_the_view_has_the_markers_the_reason_and_the_kept_section() -> None:
    view = present(_refund())
    assert view.markers[:2] == ("退费", "部分退费")
    assert ("退费原因", "口罩未拆封") in [(f.label, f.value) for f in view.footer]
    [kept] = view.sections
    assert kept.title == "保留部分（新结算 P33010000001D0001-9）"
    assert [(f.label, f.value) for f in kept.totals][1:] == [
        ("统筹基金支付", "15.00"),
        ("个人账户支付", "4.68"),
        ("个人现金支付", "5.00"),
    ]
    assert ("个人账户余额", "995.32") in [(f.label, f.value) for f in view.totals]


def test_escpos_and_html_print_the_kept_section() -> None:
    receipt = _refund()
    printed = escpos_bytes(receipt, 48).decode("gb18030", errors="replace")
    page = receipt_html(receipt)
    for text in (printed, page):
        assert "保留部分（新结算 P33010000001D0001-9）" in text
        assert "口罩未拆封" in text and "部分退费" in text and "995.32" in text


def test_only_a_refund_keeps_a_part_of_its_sale() -> None:
    with pytest.raises(ValueError, match="only a refund keeps"):
        sample_receipt(kept=KeptSale("x", (), 0, 0, 0, 0))
