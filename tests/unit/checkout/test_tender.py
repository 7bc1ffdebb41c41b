"""Tender and change, split tender, and the day's figures by payment method and cashier (issue 13,
"What a cashier's day needs"): the pure arithmetic, then the counter over a real ledger file."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.bootstrap import open_terminal
from terminal.checkout.counter import Counter
from terminal.checkout.counter_state import Sale, SelfPaid
from terminal.checkout.selfpay import refund_self_pay
from terminal.checkout.tender import (
    MESSAGES,
    Tender,
    TenderError,
    TenderRequest,
    kept_parts,
    parse_tender_args,
    refund_parts,
    settle_tender,
    tender_from_form,
)
from terminal.config import load_config
from terminal.errors import CheckoutError
from terminal.identity.model import CERT_ID_NUMBER, Identity
from terminal.ledger import closure_hash, day_report, tenders_of, verify_ledger
from terminal.ledger.closures import pending_closure
from terminal.web import i18n
from terminal.web.app import Hooks, create_app
from tests.conftest import HIGH_LIMITS

from .test_counter import BARCODE

# -- the arithmetic (pure) ------------------------------------------------------------------


def test_nothing_given_is_all_cash_or_all_by_the_chosen_method() -> None:
    assert settle_tender(2530) == Tender((("cash", 2530),))
    assert settle_tender(2530, default="bank_card").parts == (("bank_card", 2530),)
    assert settle_tender(0).parts == () and settle_tender(0).method == "cash"


def test_a_split_must_add_up_to_what_the_customer_pays_to_the_fen() -> None:
    paid = settle_tender(2500, {"card": 500, "cash": 2000})
    assert paid.parts == (("cash", 2000), ("bank_card", 500)) and paid.method == "cash"
    with pytest.raises(TenderError) as short:
        settle_tender(2500, {"cash": 2000, "mobile": 499})
    assert str(short.value) == "the payments add up to 24.99 but the customer pays 25.00: add 0.01"
    with pytest.raises(TenderError) as over:
        settle_tender(2500, {"cash": 2000, "mobile": 600})
    assert str(over.value).endswith("take off 1.00") and over.value.code == "bad_tender"


def test_the_change_is_the_cash_handed_over_less_the_cash_part_never_negative() -> None:
    paid = settle_tender(2530, {"card": 530}, cash_given=5000, rest_in_cash=True)
    assert paid.parts == (("cash", 2000), ("bank_card", 530))
    assert paid.change == 3000 and paid.rows()[0] == ("cash", 2000, 5000)
    assert paid.to_json() == {
        "parts": {"cash": "20.00", "bank_card": "5.30"},
        "given": "50.00",
        "change": "30.00",
    }
    assert settle_tender(2530, cash_given=2530).change == 0
    with pytest.raises(TenderError) as short:
        settle_tender(2530, cash_given=2000)
    assert short.value.code == "cash_short"
    assert str(short.value) == (
        "the cash handed over (20.00) is less than the cash part (25.30): take 5.30 more, or "
        "pay the rest by card or phone"
    )
    with pytest.raises(TenderError, match="nothing is paid in cash"):
        settle_tender(100, {"mobile": 100}, cash_given=100)


def test_bad_parts_are_refused_each_with_its_own_message() -> None:
    with pytest.raises(TenderError, match="never negative"):
        settle_tender(100, {"cash": 200, "card": -100})
    with pytest.raises(TenderError, match="'cheque' is not a payment method"):
        settle_tender(100, {"cheque": 100})
    with pytest.raises(TenderError, match=r"card and mobile payments \(3.00\) are more"):
        settle_tender(200, {"card": 100, "mobile": 200}, rest_in_cash=True)


def test_the_cli_syntax_and_the_counter_form_parse_to_requests() -> None:
    assert parse_tender_args(["cash=20.00", "card=5"], "50.00") == TenderRequest(
        (("cash", 2000), ("bank_card", 500)), 5000
    )
    for bad in (["cash"], ["cash=abc"], ["cash=1.234"], ["cash=1", "CASH=2"], ["coins=1"]):
        with pytest.raises(CheckoutError) as refused:
            parse_tender_args(bad)
        assert refused.value.code == "bad_tender"
    with pytest.raises(CheckoutError, match="--cash-given"):
        parse_tender_args([], "lots")
    form = tender_from_form("5.30", "", " ¥50 ")
    assert form == TenderRequest((("bank_card", 530),), 5000, rest_in_cash=True)
    assert tender_from_form("", "0", "") == TenderRequest((), None, rest_in_cash=True)
    with pytest.raises(TenderError) as malformed:
        tender_from_form("5.3.0", "", "")
    assert malformed.value.params == {"field": "card", "text": "'5.3.0'"}


def test_refunds_give_back_the_way_it_was_paid_and_what_is_kept_keeps_cash_first() -> None:
    paid = (("cash", 2000), ("bank_card", 500), ("mobile", 300))
    assert refund_parts(paid) == (("cash", -2000), ("bank_card", -500), ("mobile", -300))
    assert kept_parts(paid, 2100) == (("cash", 2000), ("mobile", 100))
    assert kept_parts(paid, 2800) == paid and kept_parts(paid, 0) == ()
    with pytest.raises(CheckoutError, match="28.01 kept is not within what was paid"):
        kept_parts(paid, 2801)


@given(
    due=st.integers(0, 10**7),
    cuts=st.lists(st.integers(0, 10**7), min_size=2, max_size=2),
    extra=st.integers(0, 10**5),
)
def test_any_split_of_the_amount_settles_and_the_change_is_exact(
    due: int, cuts: list[int], extra: int
) -> None:
    a, b = sorted(min(c, due) for c in cuts)
    given_cash = a + extra if a else None
    paid = settle_tender(due, {"cash": a, "card": b - a, "mobile": due - b}, cash_given=given_cash)
    assert paid.total == due and paid.change == (extra if a else 0)
    assert all(amount > 0 for _, amount in paid.parts)


@pytest.mark.parametrize("language", ["zh"])
def test_every_tender_refusal_has_a_translation(language: str) -> None:
    catalogue = i18n.translations(language)
    assert [m for m in MESSAGES if catalogue.gettext(m) == m] == []
    for message in MESSAGES:  # the same placeholders, so that the page can fill them in
        names = set(re.findall(r"%\((\w+)\)s", message))
        assert set(re.findall(r"%\((\w+)\)s", catalogue.gettext(message))) == names


# -- at the counter, in the ledger, at day-end ----------------------------------------------


def _resident(counter: Counter) -> Identity:
    """A demo person with no personal account: the customer pays cash for their part."""
    rows = counter.service.ledger.query(
        "SELECT psn_cert FROM persons WHERE acct_balance = 0 ORDER BY psn_cert LIMIT 1"
    )
    return Identity(rows[0][0], "", CERT_ID_NUMBER, rows[0][0])


def test_a_split_sale_its_refund_and_the_day_by_method_cashier_and_drawer(
    counter: Counter,
) -> None:
    service = counter.service
    counter.identify(_resident(counter), "id", "id_checked")
    counter.scan(BARCODE)
    counter.scan(BARCODE)
    quote = counter.state.quote
    assert quote is not None and quote.result is not None
    due = quote.result.psn_cash_pay
    assert due > 100
    with pytest.raises(TenderError) as short:  # too little cash: refused, nothing written
        counter.confirm(
            counter.state.basket_id,
            payment_method="cash",
            operator="1001",
            tender=TenderRequest((("bank_card", 100),), 1, rest_in_cash=True),
        )
    assert short.value.code == "cash_short" and service.ledger.head()[0] == 0
    sale = counter.confirm(
        counter.state.basket_id,
        payment_method="cash",
        operator="1001",
        tender=TenderRequest((("bank_card", 100),), due, rest_in_cash=True),
    )
    assert isinstance(sale, Sale) and sale.tender is not None
    assert sale.tender["change"] == "1.00"  # handed over the whole amount, 1.00 was by card
    assert tenders_of(service.ledger, sale.txn_id) == [
        ("cash", due - 100, due),
        ("bank_card", 100, None),
    ]
    counter.scan(BARCODE)  # a self-pay sale (nobody identified), by phone, by another cashier
    self_paid = counter.self_pay(
        counter.state.basket_id,
        payment_method="mobile",
        operator="1002",
        tender=TenderRequest(rest_in_cash=True),
    )
    assert isinstance(self_paid, SelfPaid) and self_paid.payment_method == "mobile"
    refund = service.refund(sale.txn_id, reason="returned", operator="2001")
    assert tenders_of(service.ledger, refund.txn_id) == [
        ("cash", 100 - due, None),
        ("bank_card", -100, None),
    ]
    refund_self_pay(service, self_paid.self_pay_id, reason="returned", operator="2001")

    day = service.local_now().date()
    x = pending_closure(service.ledger, day, at=service.local_now())  # the X report
    live = day_report(service.ledger, day)["figures"]["breakdown"]
    assert x["breakdown"] == live  # nothing closed before: the X report is the day
    assert live["methods"]["cash"] == {"in": due - 100, "out": due - 100}
    assert live["methods"]["bank_card"] == {"in": 100, "out": 100}
    sp = self_paid.total
    assert live["methods"]["mobile"] == {"in": sp, "out": sp}
    assert live["self_pay"] == {"sales": 1, "sales_total": sp, "refunds": 1, "refunds_total": sp}
    assert live["operators"]["1001"] == {
        "sales": 1,
        "refunds": 0,
        "in": due,
        "out": 0,
        "cash": due - 100,
    }
    assert live["operators"]["2001"]["refunds"] == 2
    assert live["drawer"] == {
        "float": 0,
        "cash_in": due - 100,
        "cash_out": due - 100,
        "expected": 0,
    }
    assert service.ledger.head()[0] == 2  # the X report wrote nothing

    closure = service.close_day(None, "2001")
    assert json.loads(closure["breakdown"]) == live
    report = day_report(service.ledger, day)
    assert report["closed"] and report["figures"]["breakdown"] == live
    assert verify_ledger(service.ledger).ok
    conn = service.ledger.conn  # a raw editor moves the card payment to cash: verify finds it
    conn.execute("DROP TRIGGER sale_tenders_no_update")
    conn.execute("UPDATE sale_tenders SET method = 'mobile' WHERE method = 'bank_card'")
    conn.commit()
    tampered = verify_ledger(service.ledger)
    assert not tampered.ok and tampered.anchor == f"closure 1 ({day})"
    assert "does not match the payments of the sales it covers" in (tampered.problem or "")


def test_closures_made_before_the_breakdown_keep_the_hash_they_were_signed_with() -> None:
    old = {
        "closure_no": 1,
        "setl_date": "2026-03-15",
        "first_seq": None,
        "last_seq": None,
        "last_hash": "0" * 64,
        "prev_closure_hash": "0" * 64,
        "sale_count": 0,
        "reversal_count": 0,
        "closed_at": "2026-03-15T22:00:00+08:00",
        "operator": None,
    }
    from terminal.ledger.closures import CLOSURE_MONEY

    old.update(dict.fromkeys(CLOSURE_MONEY, 0))
    assert closure_hash({**old, "breakdown": None}) == closure_hash(old)
    assert closure_hash({**old, "breakdown": "{}"}) != closure_hash(old)


def test_sales_made_before_the_migration_are_filled_in_from_their_payment_method(
    counter: Counter,
) -> None:
    service = counter.service
    counter.identify(_resident(counter), "id", "id_checked")
    counter.scan(BARCODE)
    sale = counter.confirm(counter.state.basket_id, payment_method="mobile", operator="1001")
    assert isinstance(sale, Sale)
    refund = service.refund(sale.txn_id, reason="returned", operator="2001")
    counter.scan(BARCODE)
    paid = counter.self_pay(counter.state.basket_id, payment_method="bank_card", operator="1001")
    assert isinstance(paid, SelfPaid)
    ids = (sale.txn_id, refund.txn_id, paid.self_pay_id)
    written = {i: tenders_of(service.ledger, i) for i in ids}
    assert [m for m, _, _ in written[sale.txn_id]] == ["mobile"]
    conn = service.ledger.conn  # the database as it was before m0007
    conn.execute("DROP TABLE sale_tenders")
    conn.execute("ALTER TABLE closures DROP COLUMN breakdown")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm0007_tender'")
    conn.commit()
    from sqlite_utils import Database

    from terminal.ledger.schema_next import migrate

    migrate(Database(conn))
    assert {i: tenders_of(service.ledger, i) for i in ids} == written
    service.close_day(None, "2001")
    assert verify_ledger(service.ledger).ok


def test_the_http_sale_takes_a_tender_and_refuses_a_bad_one_writing_nothing(
    make_config: Callable[..., Path], clean_env: None
) -> None:
    from tests.e2e.webauth import API_TOKEN, AUTH
    from tests.unit.web.test_app import Client

    service = open_terminal(
        load_config(make_config(risk=HIGH_LIMITS, web={"api_token": API_TOKEN}))
    )
    client = Client(create_app(service, hooks=Hooks(), lock=threading.RLock()))
    try:
        basket = [{"barcode": BARCODE, "qty": "1"}]
        body = {"self_pay": True, "basket": basket, "tender": {"card": "1.00", "cash": "x"}}
        bad = client.post("/api/checkout", csrf=False, json=body, headers=AUTH)
        assert bad.status_code == 422 and "request.tender.cash: 'x'" in bad.json()["message"]
        body = {"self_pay": True, "basket": basket, "cash_given": "1000.00"}
        done = client.post("/api/checkout", csrf=False, json=body, headers=AUTH)
        assert done.status_code == 200, done.text
        tender = done.json()["tender"]
        total = done.json()["total"]
        assert tender["parts"] == {"cash": total} and tender["given"] == "1000.00"
        assert tenders_of(service.ledger, done.json()["self_pay_id"])[0][2] == 100000
        assert service.ledger.query("SELECT COUNT(*) FROM self_pay_sales")[0][0] == 1
    finally:
        client.close()
        service.ledger.close()
