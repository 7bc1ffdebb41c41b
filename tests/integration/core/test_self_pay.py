"""Self-pay sales (自费, no insurance) on a real terminal ledger: outside the sales chain, the
outbox, the persons and the accumulators; one sale per basket; in the day's figures and closure;
refunded in full, once, by a row of its own that counts −1."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import pytest

from terminal.checkout.counter import Counter, SelfPaid
from terminal.checkout.selfpay import refund_self_pay, sell_self_pay
from terminal.checkout.service import CheckoutService
from terminal.errors import CheckoutError
from terminal.identity.model import CERT_ID_NUMBER, Identity
from terminal.ledger import closure_hash, day_totals, get_self_pay, verify_ledger
from terminal.web.receipts import receipt_for

BASKET: list[dict[str, Any]] = [
    {"barcode": "6910100000012", "qty": "2"},
    {"code": "X-NOT-IN-CATALOGUE", "qty": "3", "price": "0.335"},  # 1.005 → 1.01
]


def _snapshot(service: CheckoutService) -> dict[str, Any]:
    """Everything an insurance settlement writes, and the chain's head."""
    conn = service.ledger.conn
    tables = ("txns", "txn_lines", "txn_accumulators", "ledger", "outbox", "persons")
    out: dict[str, Any] = {t: conn.execute(f"SELECT * FROM {t}").fetchall() for t in tables}
    out["person_pools"] = conn.execute("SELECT * FROM person_pools").fetchall()
    out["offline_person_day"] = conn.execute("SELECT * FROM offline_person_day").fetchall()
    out["meta"] = conn.execute(
        "SELECT key, value FROM meta WHERE key IN ('head_seq', 'head_hash', 'outbox_fund')"
    ).fetchall()
    return out


def _count(service: CheckoutService, table: str) -> int:
    return int(service.ledger.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _audits(service: CheckoutService) -> list[dict[str, Any]]:
    return [e for e in service.ledger.audit_log(100) if e["kind"] == "self_pay"]


def test_a_self_pay_sale_leaves_the_insurance_records_alone(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    sale = service.sell_claim(claim)
    before = _snapshot(service)
    outcome = sell_self_pay(
        service,
        BASKET,
        basket_id="b-1",
        payment_method="mobile",
        reason="unknown_person",
        operator="1001",
    )
    assert outcome.created and outcome.self_pay_id == f"{service.config.terminal.dev_no}-S1"
    item = service.reference().catalogue.items[outcome.record.lines[0].code]
    assert item.price is not None
    first = round(item.price * 200)  # 2 × the catalogue price, in fen (two places: exact)
    assert [line.amount for line in outcome.record.lines] == [first, 101]
    assert outcome.record.total == first + 101
    assert outcome.line()["total"] == f"{(first + 101) // 100}.{(first + 101) % 100:02d}"
    assert outcome.record.lines[1].name is None and outcome.record.lines[1].price == "0.335"
    assert _snapshot(service) == before  # no entry, outbox row, person or accumulator
    report = verify_ledger(service.ledger)
    assert report.ok and report.head_seq == sale.seq
    [audit] = _audits(service)
    assert audit["actor"] == "1001" and audit["detail"]["reason"] == "unknown_person"
    stored = get_self_pay(service.ledger, outcome.self_pay_id)
    assert stored == outcome.record
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        service.ledger.conn.execute("UPDATE self_pay_sales SET total = 0")


def test_the_same_basket_twice_makes_one_sale(service: CheckoutService) -> None:
    first = sell_self_pay(
        service, BASKET, basket_id="b-2", payment_method="cash", reason="requested"
    )
    again = sell_self_pay(
        service, BASKET[:1], basket_id="b-2", payment_method="bank_card", reason="requested"
    )
    assert first.created and not again.created
    assert again.record == first.record
    assert _count(service, "self_pay_sales") == 1 and len(_audits(service)) == 1
    other = sell_self_pay(
        service, BASKET, basket_id="b-3", payment_method="cash", reason="requested"
    )
    assert other.self_pay_id.endswith("-S2")


@pytest.mark.parametrize(
    ("basket", "changes", "code", "words"),
    [
        ([], {}, "bad_basket", "non-empty list"),
        ([{"code": "X-UNKNOWN", "qty": "1"}], {}, "bad_basket", "enter the selling price"),
        ([{"barcode": "6910100000012", "qty": "-1"}], {}, "bad_basket", "basket[0].qty"),
        ([{"barcode": "6910100000012", "qty": 2}], {}, "bad_basket", "basket[0].qty"),
        ([{"code": "X", "qty": "1", "price": "1.23456"}], {}, "bad_basket", "basket[0].price"),
        (BASKET, {"payment_method": "cheque"}, "bad_payment", "cash, bank_card, mobile"),
        (BASKET, {"basket_id": ""}, "bad_basket_id", "basket id"),
        (BASKET, {"reason": "Because!"}, "bad_reason", "reason code"),
    ],
)
def test_a_bad_basket_writes_nothing(
    service: CheckoutService,
    basket: list[dict[str, Any]],
    changes: dict[str, str],
    code: str,
    words: str,
) -> None:
    audits = _count(service, "audit")
    args: dict[str, Any] = {
        "basket_id": "b-bad",
        "payment_method": "cash",
        "reason": "requested",
        **changes,
    }
    with pytest.raises(CheckoutError) as refused:
        sell_self_pay(service, basket, **args)
    assert refused.value.code == code and words in str(refused.value)
    assert _count(service, "self_pay_sales") == 0 and _count(service, "self_pay_lines") == 0
    assert _count(service, "audit") == audits


def test_day_figures_and_the_closure_count_self_pay_sales(
    service: CheckoutService, claim: dict[str, Any], clock: Any
) -> None:
    service.sell_claim(claim)
    one = sell_self_pay(service, BASKET, basket_id="d-1", payment_method="cash", reason="x")
    two = sell_self_pay(service, BASKET[1:], basket_id="d-2", payment_method="cash", reason="x")
    today = service.local_now().date()
    totals = day_totals(service.ledger, today)
    assert (totals["sale_count"], totals["self_pay_count"]) == (1, 2)
    assert totals["self_pay_total"] == one.record.total + two.record.total
    closure = service.close_day(None, "2001")
    assert (closure["self_pay_count"], closure["self_pay_last_id"]) == (2, 2)
    assert closure["self_pay_total"] == totals["self_pay_total"]
    clock.advance(days=1)
    sell_self_pay(service, BASKET[1:], basket_id="d-3", payment_method="cash", reason="x")
    second = service.close_day(None, "2001")
    assert (second["self_pay_count"], second["self_pay_total"]) == (1, 101)
    assert second["self_pay_last_id"] == 3 and second["sale_count"] == 0
    report = verify_ledger(service.ledger)
    assert report.ok and report.closures == 2
    conn = sqlite3.connect(str(service.ledger.path), isolation_level=None)
    try:  # as someone with a database editor would
        conn.execute("DROP TRIGGER closures_no_update")
        conn.execute("UPDATE closures SET self_pay_total = 0 WHERE closure_no = 1")
    finally:
        conn.close()
    report = verify_ledger(service.ledger)
    assert not report.ok and report.anchor == f"closure {today.isoformat()}"


def test_a_self_pay_refund_gives_the_whole_sale_back_once(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    service.sell_claim(claim)
    sale = sell_self_pay(
        service, BASKET, basket_id="r-1", payment_method="mobile", reason="requested"
    ).record
    before = _snapshot(service)
    refund = refund_self_pay(service, sale.self_pay_id, reason="顾客退货", operator="2001")
    record = refund.record
    assert record.self_pay_id.endswith("-S2") and record.orig_self_pay_id == sale.self_pay_id
    assert record.is_refund and not sale.is_refund
    assert record.total == -sale.total and record.payment_method == "mobile"
    assert [line.amount for line in record.lines] == [-line.amount for line in sale.lines]
    assert (record.operator, record.reason) == ("2001", "顾客退货")
    assert refund.line()["orig_self_pay_id"] == sale.self_pay_id
    assert refund.line()["total"].startswith("-")
    assert get_self_pay(service.ledger, record.self_pay_id) == record
    assert _snapshot(service) == before  # the insurance records stay as they were
    [audit] = [e for e in service.ledger.audit_log(100) if e["kind"] == "self_pay_refund"]
    assert audit["actor"] == "2001"
    assert audit["detail"]["orig_self_pay_id"] == sale.self_pay_id
    receipt = receipt_for(service, record.self_pay_id, "zh")
    assert receipt is not None and receipt.kind == "self_pay_refund"
    assert receipt.orig_txn_id == sale.self_pay_id and receipt.cash_fen == -sale.total

    with pytest.raises(CheckoutError) as twice:
        refund_self_pay(service, sale.self_pay_id, reason="again", operator="2001")
    assert twice.value.code == "refund_refused"
    assert f"already refunded by {record.self_pay_id}" in str(twice.value)
    with pytest.raises(CheckoutError) as of_refund:
        refund_self_pay(service, record.self_pay_id, reason="again", operator="2001")
    assert of_refund.value.code == "refund_refused"
    assert "cannot be refunded" in str(of_refund.value)
    with pytest.raises(CheckoutError, match="check the receipt"):
        refund_self_pay(service, "NOPE-S99", reason="x", operator="2001")
    with pytest.raises(CheckoutError) as no_reason:
        refund_self_pay(service, sale.self_pay_id, reason=" ", operator="2001")
    assert no_reason.value.code == "bad_refund"
    refusals = [e for e in service.ledger.audit_log(100) if e["kind"] == "refusal"]
    assert [e["detail"]["refund"] for e in refusals][:3] == [
        "NOPE-S99",
        record.self_pay_id,
        sale.self_pay_id,
    ]
    assert _count(service, "self_pay_sales") == 2
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):  # one refund per sale, by index
        service.ledger.conn.execute(
            "INSERT INTO self_pay_sales (id, self_pay_id, basket_id, settled_at, setl_date, "
            "payment_method, total, reason, orig_id) "
            "VALUES (9, 'x-S9', 'x', '', '', 'cash', 0, 'x', ?)",
            (sale.id,),
        )


def test_day_figures_and_closures_count_a_self_pay_refund_minus_one(
    service: CheckoutService, clock: Any
) -> None:
    one = sell_self_pay(service, BASKET, basket_id="c-1", payment_method="cash", reason="x")
    sell_self_pay(service, BASKET[1:], basket_id="c-2", payment_method="cash", reason="x")
    first = service.close_day(None, "2001")
    assert (first["self_pay_count"], first["self_pay_last_id"]) == (2, 2)
    clock.advance(days=1)
    refund = refund_self_pay(service, one.self_pay_id, reason="退货", operator="2001")
    three = sell_self_pay(service, BASKET[1:], basket_id="c-3", payment_method="cash", reason="x")
    totals = day_totals(service.ledger, service.local_now().date())
    assert totals["self_pay_count"] == 0  # one sale, one refund
    assert totals["self_pay_total"] == three.record.total - one.record.total
    second = service.close_day(None, "2001")
    assert (second["self_pay_count"], second["self_pay_last_id"]) == (0, 4)
    assert second["self_pay_total"] == totals["self_pay_total"]
    assert refund.record.id == 3
    report = verify_ledger(service.ledger)  # the closure made before the refund still checks
    assert report.ok and report.closures == 2


def test_a_closure_without_self_pay_fields_keeps_its_hash() -> None:
    # closures signed before self-pay sales existed hold NULL there: hashed as they were
    old = {
        "closure_no": 1,
        "setl_date": "2026-03-16",
        "first_seq": 1,
        "last_seq": 2,
        "last_hash": "a" * 64,
        "prev_closure_hash": "0" * 64,
        "sale_count": 2,
        "reversal_count": 0,
        "closed_at": "2026-03-16T22:00:00+08:00",
        "operator": "2001",
    }
    from terminal.ledger.closures import CLOSURE_MONEY

    old.update(dict.fromkeys(CLOSURE_MONEY, 0))
    unset = {**old, "self_pay_count": None, "self_pay_total": None, "self_pay_last_id": None}
    assert closure_hash(unset) == closure_hash(old)
    counted = {**old, "self_pay_count": 0, "self_pay_total": 0, "self_pay_last_id": 0}
    assert closure_hash(counted) != closure_hash(old)


def _identity(psn_cert: str, name: str = "") -> Identity:
    return Identity(psn_cert, name, CERT_ID_NUMBER, psn_cert)


def test_the_counter_offers_self_pay_only_when_insurance_cannot_settle(
    open_service: Any, clock: Any
) -> None:
    from tests.conftest import HIGH_LIMITS

    service = open_service(risk=HIGH_LIMITS)
    counter = Counter(service, threading.RLock())
    counter.scan("6910100000012")
    assert counter.self_pay_reason() == "not_identified"  # nobody identified, the basket priced
    known = service.ledger.query("SELECT psn_cert FROM persons ORDER BY psn_cert LIMIT 1")[0][0]
    counter.identify(_identity(known), "id", "id_checked")
    assert counter.state.quote is not None and counter.state.quote.refusal is None
    assert counter.self_pay_reason() is None and counter.self_pay_total() is None
    with pytest.raises(CheckoutError) as insured:
        counter.self_pay(counter.state.basket_id, payment_method="cash", operator="1001")
    assert insured.value.code == "self_pay_not_offered"

    counter.identify(_identity("110101199003070011", "路人"), "id", "id_checked")
    assert counter.self_pay_reason() == "unknown_person"
    total = counter.self_pay_total()
    assert total is not None and total > 0
    basket_id = counter.state.basket_id
    head = service.ledger.head()
    sale = counter.self_pay(basket_id, payment_method="mobile", operator="1001")
    assert counter.self_pay(basket_id, payment_method="cash", operator="1001") is sale
    assert isinstance(sale, SelfPaid)
    assert sale.kind == "self_pay" and sale.total == total
    assert counter.state.lines == [] and counter.state.last_sale is sale
    assert service.ledger.head() == head and _count(service, "self_pay_sales") == 1
    receipt = receipt_for(service, sale.self_pay_id, "zh")
    assert receipt is not None and receipt.kind == "self_pay"
    assert receipt.cash_fen == total and receipt.payment_method == "mobile"

    clock.advance(days=4)  # no sync for more than 72 h: a hard limit, nobody may lift it
    counter.identify(_identity(known), "id", "id_checked")
    counter.scan("6910100000012")
    quote = counter.state.quote
    assert quote is not None and quote.refusal is not None and not quote.overridable
    assert counter.self_pay_reason() == "sync_too_old"
