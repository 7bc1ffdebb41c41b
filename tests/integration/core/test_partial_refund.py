"""A partial refund on a real ledger file: the reversal of the whole sale and the sale of what
the customer keeps commit in one unit, or nothing does (docs/core.md "Partial refunds")."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from terminal.checkout.refunding import partial_refund
from terminal.checkout.service import CheckoutRefused, CheckoutService
from terminal.errors import CheckoutError
from terminal.ledger import verify_ledger
from terminal.ledger.history import partial_refund_of
from tests.conftest import HIGH_LIMITS


def _counts(service: CheckoutService) -> tuple[int, ...]:
    tables = ("txns", "ledger", "outbox", "partial_refunds", "txn_lines")
    return tuple(
        int(service.ledger.query(f"SELECT count(*) AS n FROM {t}")[0]["n"])  # noqa: S608
        for t in tables
    )


def test_the_reversal_and_the_kept_sale_commit_together_and_settle_as_a_fresh_sale(
    open_service: Callable[..., CheckoutService], claim: dict[str, Any], tmp_path: Path
) -> None:
    service = open_service(risk=HIGH_LIMITS)
    sale = service.sell_claim(claim)
    done = partial_refund(
        service, sale.txn_id, {1: "1", 0: "1"}, reason="not opened", operator="2001"
    )
    assert done.kept is not None
    assert done.reversal.seq == sale.seq + 1 and done.kept.seq == sale.seq + 2
    assert done.kept.upload_input["claim"]["basket"] == [
        {"code": "XC10AA0055", "qty": "1", "price": "9.60"},
        claim["basket"][2],
        claim["basket"][3],
    ]
    # settled against the accumulators the original started from: as if only the kept lines
    assert (
        done.kept.upload_input["claim"]["accumulators"]
        == sale.upload_input["claim"]["accumulators"]
    )
    # another terminal, the same person: a fresh sale of the kept lines alone
    fresh = open_service(risk=HIGH_LIMITS, terminal={"data_dir": str(tmp_path / "fresh")})
    kept_claim = {**claim, "basket": done.kept.upload_input["claim"]["basket"]}
    alone = fresh.sell_claim(kept_claim)
    assert done.kept.upload_input["result"] == alone.result
    year = int(claim["visit"]["date"][:4])
    assert (
        service.ledger.accumulators(claim["person"]["psn_cert"], year)
        == alone.result["accumulators_after"]
    )
    link = partial_refund_of(service.ledger, done.reversal.txn_id, "reversal_txn_id")
    assert link is not None and link.kept_txn_id == done.kept.txn_id
    assert link.refunded == ((0, "XC10AA0055", "1"), (1, "XM01AH0041", "1"))
    outbox = service.ledger.query("SELECT kind FROM outbox ORDER BY seq")
    assert [r["kind"] for r in outbox] == ["sale", "reversal", "sale"]
    assert verify_ledger(service.ledger).ok
    with pytest.raises(CheckoutError, match="already refunded"):
        partial_refund(service, sale.txn_id, {2: "1"}, reason="again", operator="2001")
    # the kept sale is an ordinary sale: it may be refunded in part again
    again = partial_refund(service, done.kept.txn_id, {2: "1"}, reason="also", operator="2001")
    assert again.kept is not None and len(again.kept.upload_input["claim"]["basket"]) == 2


def test_a_refused_kept_sale_leaves_nothing_not_even_the_reversal(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    sale = service.sell_claim(claim)
    before = _counts(service)
    psn_cert = claim["person"]["psn_cert"]
    year = int(claim["visit"]["date"][:4])
    accumulators = service.ledger.accumulators(psn_cert, year)
    raw = sqlite3.connect(str(service.ledger.path), isolation_level=None)
    raw.execute(  # the person blocked since the sale: the new sale is refused inside the unit
        "UPDATE refdata SET version = version + 1, body = ? WHERE kind = 'hotlist'",
        (f'{{"entries": [{{"kind": "psn_cert", "value": "{psn_cert}", "reason": "x"}}]}}',),
    )
    with pytest.raises(CheckoutRefused) as refused:
        partial_refund(service, sale.txn_id, {0: "1"}, reason="returned", operator="2001")
    assert refused.value.code == "hotlisted"
    assert _counts(service) == before
    assert service.ledger.accumulators(psn_cert, year) == accumulators
    assert service.ledger.audit_log(1)[0]["kind"] == "refusal"
    assert verify_ledger(service.ledger).ok
    # the full refund stays possible: a reversal is not a settlement
    service.refund(sale.txn_id, reason="returned", operator="2001")


def test_a_self_pay_sale_is_refunded_in_part_as_its_refund_and_a_new_self_pay_sale(
    service: CheckoutService,
) -> None:
    from terminal.checkout.selfpay import refund_self_pay_part, sell_self_pay

    basket = [{"barcode": "6910100000012", "qty": "2"}, {"barcode": "6910800000039", "qty": "1"}]
    sale = sell_self_pay(
        service, basket, basket_id="b-1", payment_method="cash", reason="requested"
    ).record
    refund, kept = refund_self_pay_part(
        service, sale.self_pay_id, {0: "1"}, reason="returned", operator="2001"
    )
    assert refund.record.total == -sale.total and refund.record.orig_self_pay_id == sale.self_pay_id
    assert kept is not None
    assert [(line.code, line.qty) for line in kept.record.lines] == [
        (sale.lines[0].code, "1"),
        (sale.lines[1].code, "1"),
    ]
    assert kept.record.total == sale.total - sale.lines[0].amount // 2
    rows = service.ledger.query("SELECT count(*) AS n FROM self_pay_sales")[0]["n"]
    with pytest.raises(CheckoutError, match="already refunded"):  # once: nothing more written
        refund_self_pay_part(service, sale.self_pay_id, {1: "1"}, reason="x", operator="2001")
    assert service.ledger.query("SELECT count(*) AS n FROM self_pay_sales")[0]["n"] == rows
    assert verify_ledger(service.ledger).ok
