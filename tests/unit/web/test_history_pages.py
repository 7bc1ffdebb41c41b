"""Sale history, reprint, the partial refund form, receipts as ESC/POS and `/verify`, in process
(docs/ui.md "Sale history", "Partial refunds")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from terminal.bootstrap import open_terminal
from terminal.checkout.operators import seed_demo_operators
from terminal.checkout.service import CheckoutService
from terminal.config import load_config
from terminal.demo import demo_claim
from terminal.ledger import entry_of
from terminal.web.app import Hooks, create_app
from terminal.web.receipts import verify_text
from tests.conftest import HIGH_LIMITS
from tests.unit.web.test_app import NOW, Client, _Clock, _sign_in


@pytest.fixture
def shop(
    make_config: Callable[..., Path], clean_env: None
) -> Iterator[tuple[Client, CheckoutService, list[Any]]]:
    service = open_terminal(load_config(make_config(risk=HIGH_LIMITS)), clock=_Clock())
    seed_demo_operators(service)
    printed: list[Any] = []

    def print_receipt(receipt: Any) -> str:
        printed.append(receipt)
        return "test printer"

    client = Client(create_app(service, hooks=Hooks(print_receipt=print_receipt)))
    yield client, service, printed
    client.close()
    service.ledger.close()


def test_a_cashier_finds_their_sale_reprints_it_and_a_supervisor_refunds_part_of_it(
    shop: tuple[Client, CheckoutService, list[Any]],
) -> None:
    client, service, printed = shop
    claim = demo_claim("pharmacy", NOW.date())
    sale = service.sell_claim(claim, operator="1001")
    other = service.sell_claim(claim, operator="1002")
    _sign_in(client)  # the cashier 1001
    page = client.get("/history", params={"person": claim["person"]["psn_no"]}).text
    assert sale.txn_id in page and other.txn_id not in page  # a cashier sees their own sales
    assert sale.txn_id not in client.get("/history", params={"time_to": "09:59"}).text
    found = client.get("/history", params={"receipt": str(sale.seq)}).text
    assert f'href="/history/{sale.txn_id}"' in found
    assert client.get(f"/history/{other.txn_id}").status_code == 303  # not theirs
    detail = client.get(f"/history/{sale.txn_id}").text
    assert "XC10AA0055" in detail or "9.60" in detail
    reprinted = client.post(f"/history/{sale.txn_id}/print")
    assert reprinted.status_code == 303 and "msg=" in reprinted.headers["location"]
    assert "err=" not in reprinted.headers["location"]
    assert [r.txn_id for r in printed] == [sale.txn_id]
    escpos = client.get(f"/receipt/{sale.txn_id}.escpos")  # reachable again: not the HTML page
    assert escpos.headers["content-type"] == "application/octet-stream"
    assert escpos.content.startswith(b"\x1b@")

    done = client.post(
        "/refund/partial",
        data={
            "txn_id": sale.txn_id,
            "back_qty": ["1", "0", "0", "1"],
            "reason": "not opened",
            "sup_id": "2001",
            "sup_pin": "2468",
        },
    )
    assert done.status_code == 303, done.text
    refund_id = f"{service.config.terminal.dev_no}-{other.seq + 1}"
    assert done.headers["location"].startswith(f"/history/{refund_id}?msg=")
    shown = client.get(done.headers["location"])  # the cashier sees the refund of their sale
    assert shown.status_code == 200 and 'data-testid="partial-link"' in shown.text
    refund = printed[-1]
    assert refund.kind == "refund" and refund.reason == "not opened"
    assert refund.kept is not None and [line.qty for line in refund.kept.lines] == ["1", "1", "1"]
    assert [(line.code, line.qty) for line in refund.lines] == [
        ("XC10AA0055", "1"),
        ("XA12AX0219", "1"),
    ]
    given_back = sum(line.amount_fen for line in refund.lines)
    assert given_back == refund.medfee_fen == -(960 + 2680)
    assert refund.fund_fen + refund.acct_fen + refund.cash_fen == refund.medfee_fen

    seq, digest = entry_of(service.ledger, sale.txn_id) or (0, "")
    code = verify_text(service.config.terminal.dev_no, sale.txn_id, seq, digest)
    verified = client.get("/verify", params={"code": code}).text
    assert refund_id in verified and refund.kept.txn_id in verified and "not opened" in verified


def test_a_partial_refund_with_too_much_given_back_is_refused_and_writes_nothing(
    shop: tuple[Client, CheckoutService, list[Any]],
) -> None:
    client, service, _ = shop
    sale = service.sell_claim(demo_claim("pharmacy", NOW.date()), operator="1001")
    _sign_in(client)
    form = {"txn_id": sale.txn_id, "reason": "x", "sup_id": "2001", "sup_pin": "2468"}
    refused = client.post("/refund/partial", data={**form, "back_qty": ["5", "0", "0", "0"]})
    assert refused.status_code == 303
    assert "/refund/partial?txn_id=" in refused.headers["location"]
    assert service.ledger.head()[0] == sale.seq
    assert client.get(f"/refund/partial?txn_id={sale.txn_id}").text.count('name="back_qty"') == 4


def test_a_supervisor_sees_every_cashiers_sales_and_may_pick_one(
    shop: tuple[Client, CheckoutService, list[Any]],
) -> None:
    client, service, _ = shop
    claim = demo_claim("pharmacy", NOW.date())
    mine = service.sell_claim(claim, operator="1001")
    theirs = service.sell_claim(claim, operator="1002")
    _sign_in(client, "2001", "2468")
    everyone = client.get("/history").text
    assert mine.txn_id in everyone and theirs.txn_id in everyone
    one = client.get("/history", params={"cashier": "1002"}).text
    assert theirs.txn_id in one and mine.txn_id not in one
    assert client.get("/history", params={"date": "2026-13-01"}).status_code == 303


def test_a_self_pay_sale_is_refunded_in_part_with_two_receipts(
    shop: tuple[Client, CheckoutService, list[Any]],
) -> None:
    from terminal.checkout.selfpay import sell_self_pay

    client, service, printed = shop
    basket = [{"barcode": "6910100000012", "qty": "2"}, {"barcode": "6910800000039", "qty": "1"}]
    sale = sell_self_pay(service, basket, basket_id="b", payment_method="cash", reason="requested")
    _sign_in(client)
    form_page = client.get(f"/refund/partial?txn_id={sale.self_pay_id}").text
    assert form_page.count('name="back_qty"') == 2
    done = client.post(
        "/refund/partial",
        data={
            "txn_id": sale.self_pay_id,
            "back_qty": ["1", "0"],
            "reason": "returned",
            "sup_id": "2001",
            "sup_pin": "2468",
        },
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/refund?msg=")
    assert [r.kind for r in printed] == ["self_pay_refund", "self_pay"]
    assert printed[1].cash_fen == sale.record.total - sale.record.lines[0].amount // 2
