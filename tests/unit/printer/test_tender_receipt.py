"""The receipt shows how the customer paid their part: each method of a split, the cash handed
over and the change (issue 13); one method alone is the payment method line, as before."""

from __future__ import annotations

import pytest

from drivers.printer import escpos_bytes, receipt_html
from drivers.printer.receipt import present
from tests.unit.printer.helpers import parse_escpos, sample_receipt


def test_a_split_with_cash_handed_over_prints_each_method_the_cash_and_the_change() -> None:
    receipt = sample_receipt(
        tenders=(("cash", 700), ("bank_card", 300)), cash_given_fen=1000, payment_method="cash"
    )
    totals = {f.label: f.value for f in present(receipt).totals}
    assert totals["现金"] == "7.00" and totals["银行卡"] == "3.00"
    assert totals["实收现金"] == "10.00" and totals["找零"] == "3.00"
    assert "支付方式" not in totals
    text = parse_escpos(escpos_bytes(receipt, 32)).text
    assert "找零" in text and "实收现金" in text
    english = sample_receipt(language="en", tenders=(("cash", 1000),), cash_given_fen=5000)
    html = receipt_html(english)
    assert "Cash tendered" in html and "40.00" in html and "Change" in html


def test_one_method_is_the_payment_method_line() -> None:
    totals = {f.label: f.value for f in present(sample_receipt(tenders=(("mobile", 1000),))).totals}
    assert totals["支付方式"] == "移动支付" and "找零" not in totals


@pytest.mark.parametrize(
    ("tenders", "given", "words"),
    [
        ((("cash", 700), ("bank_card", 200)), None, "do not add up"),
        ((("cash", 1000),), 999, "less cash handed over"),
        ((("cheque", 1000),), None, "tenders must be"),
    ],
)
def test_a_receipt_whose_payments_do_not_fit_is_refused(
    tenders: tuple[tuple[str, int], ...], given: int | None, words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        sample_receipt(tenders=tenders, cash_given_fen=given)
