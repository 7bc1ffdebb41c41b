"""A refund's receipt never says 离线结算 (issue 13): a reversal is stored to be uploaded later
whether or not the platform answered, and it is not a settlement."""

from __future__ import annotations

import dataclasses

from drivers.printer import receipt_html
from drivers.printer.receipt import present
from tests.unit.printer.helpers import refund_of, sample_receipt


def test_a_refund_receipt_never_says_offline_settlement() -> None:
    sale = sample_receipt()  # an offline sale
    assert sale.offline and "离线结算" in present(sale).markers
    refund = dataclasses.replace(refund_of(sale), offline=True)  # as every reversal is stored
    assert "离线结算" not in present(refund).markers and "退费" in present(refund).markers
    assert "离线结算" not in receipt_html(refund)
