"""The self-pay receipt (自费, no insurance): says so plainly, shows the lines, the total and the
payment method, and no insured person, fund or account split, ledger entry or verify code; its
refund's is the same, marked 退费, with the amounts negative and the sale's id."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from drivers.printer import escpos_bytes, receipt_html
from drivers.printer.receipt import Receipt, present
from tests.unit.printer.helpers import parse_escpos, sample_receipt, self_pay_of

INSURANCE_ONLY_ZH = (
    "医保结算单",
    "参保人",
    "证件号码",
    "险种",
    "统筹基金",
    "个人账户",
    "账本",
    "扫码核验",
)
INSURANCE_ONLY_EN = ("Insured", "ID no.", "Pooled fund", "Personal account", "Ledger", "verify")


@pytest.mark.parametrize("width", [32, 48])
def test_the_printed_self_pay_receipt_says_no_insurance_was_used(width: int) -> None:
    stream = escpos_bytes(self_pay_of(sample_receipt()), width)
    parsed = parse_escpos(stream)
    text = parsed.text
    assert "自费结算单" in text and "*** 自费 — 未使用医保 ***" in text
    assert "阿莫西林胶囊" in text and "24.68" in text and "5.00" in text
    total = next(line for line in parsed.lines if line.startswith("合计"))
    assert total.endswith("29.68")
    assert "现金" in text and "P33010000001D0001-S3" in text
    assert not [word for word in INSURANCE_ONLY_ZH if word in text]
    assert parsed.qr_payloads == []  # not in the signed chain: nothing to verify
    assert stream.endswith(parsed.commands[-1]) and parsed.commands[-1].startswith(b"\x1dV")


def test_the_english_self_pay_receipt() -> None:
    receipt = self_pay_of(sample_receipt(language="en"))
    view = present(receipt)
    assert view.title == "Self-pay Receipt"
    assert view.markers == ("Self-pay — no insurance used",)
    assert [(f.label, f.value) for f in view.totals] == [
        ("Total", "29.68"),
        ("Payment method", "Cash"),
    ]
    assert all(item.detail == "" for item in view.items)  # every line is self-pay
    page = receipt_html(receipt)
    assert "Self-pay — no insurance used" in page and "<svg" not in page
    assert not [word for word in INSURANCE_ONLY_EN if word in page]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"fund_fen": 100}, "paid all in cash"),
        ({"acct_fen": 100}, "paid all in cash"),
        ({"cash_fen": 100}, "paid all in cash"),
        ({"ledger_hash": "0" * 64}, "no ledger entry"),
        ({"verify_text": "medpos:r1:x"}, "no ledger entry"),
        ({"orig_txn_id": "P33010000001D0001-7"}, "orig_txn_id"),
    ],
)
def test_a_self_pay_receipt_refuses_an_insurance_split(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        dataclasses.replace(self_pay_of(sample_receipt()), **changes)


def _refund_of(receipt: Receipt) -> Receipt:
    """The refund of `receipt` (a self-pay sale): its own id, the amounts negated."""
    return dataclasses.replace(
        receipt,
        txn_id="P33010000001D0001-S4",
        kind="self_pay_refund",
        orig_txn_id=receipt.txn_id,
        lines=tuple(dataclasses.replace(x, amount_fen=-x.amount_fen) for x in receipt.lines),
        medfee_fen=-receipt.medfee_fen,
        cash_fen=-receipt.cash_fen,
        seq=4,
    )


def test_a_self_pay_refund_receipt_is_the_self_pay_receipt_marked_refund() -> None:
    refund = _refund_of(self_pay_of(sample_receipt()))
    view = present(refund)
    assert view.title == "自费结算单"
    assert view.markers == ("退费", "自费 — 未使用医保")
    assert [(f.label, f.value) for f in view.totals][0] == ("合计", "-29.68")
    footer = [(f.label, f.value) for f in view.footer]
    assert ("原流水号", "P33010000001D0001-S3") in footer
    assert ("流水号", "P33010000001D0001-S4") in footer
    text = parse_escpos(escpos_bytes(refund, 32)).text
    assert "*** 退费 ***" in text and "-24.68" in text
    assert not [word for word in INSURANCE_ONLY_ZH if word in text]
    with pytest.raises(ValueError, match="orig_txn_id"):  # a refund names the sale it refunds
        dataclasses.replace(refund, orig_txn_id=None)
