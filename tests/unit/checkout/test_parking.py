"""Park and recall a basket (issue 13): the lines and visit type are kept, the customer is not; a
parked basket outlives a restart, is recalled once, and signing out mid-sale parks it."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.bootstrap import open_terminal
from terminal.checkout.basket import Line
from terminal.checkout.counter import Counter
from terminal.checkout.counter_state import State
from terminal.checkout.parking import basket_body, basket_label, lines_of
from terminal.checkout.service import CheckoutService
from terminal.errors import CheckoutError
from terminal.identity.model import CERT_ID_NUMBER, Identity
from tests.unit.checkout.conftest import _Clock

BARCODES = ("6910100000012", "6910800000039")  # catalogue items of the demo data


def _known(service: CheckoutService) -> Identity:
    row = service.ledger.query("SELECT psn_cert FROM persons ORDER BY psn_cert LIMIT 1")[0]
    return Identity(row[0], "", CERT_ID_NUMBER, row[0])


def _audit_kinds(service: CheckoutService) -> list[str]:
    return [e["kind"] for e in reversed(service.ledger.audit_log(100))]


def test_the_label_names_the_first_item_its_quantity_and_how_many_more() -> None:
    one = [Line(code="X1", name="阿莫西林胶囊", qty="2")]
    assert basket_label(one) == "阿莫西林胶囊 ×2"
    unknown = [Line(code="6901234567892", name="", known=False), *one]
    assert basket_label(unknown) == "6901234567892 ×1 (+1)"


_LINES = st.lists(
    st.builds(
        Line,
        code=st.text(min_size=1, max_size=14),
        name=st.text(max_size=30),
        qty=st.sampled_from(["1", "3", "0.5", "12.25"]),
        price=st.none() | st.sampled_from(["8.50", "0.01", "1234.00"]),
        category=st.sampled_from(["", "A", "B", "C"]),
        known=st.booleans(),
    ),
    min_size=1,
    max_size=6,
)


@given(lines=_LINES, med_type=st.sampled_from(["41", "11", "14", "21"]))
def test_a_parked_basket_body_gives_back_the_same_lines(lines: list[Line], med_type: str) -> None:
    body = json.loads(json.dumps(basket_body(State(lines=lines, med_type=med_type))))  # as stored
    assert lines_of(body) == lines and body["med_type"] == med_type
    assert basket_label(lines).startswith((lines[0].name or lines[0].code)[:40])


def test_lines_come_back_as_they_were_parked_and_unknown_keys_are_ignored() -> None:
    body = {"lines": [{"code": "X1", "name": "n", "qty": "3", "price": "1.50", "extra": 1}]}
    assert lines_of(body) == [Line(code="X1", name="n", qty="3", price="1.50")]


def test_a_parked_basket_is_recalled_with_its_lines_and_without_its_customer(
    counter: Counter,
) -> None:
    service = counter.service
    counter.identify(_known(service), "id", "id_checked")
    counter.scan(BARCODES[0])
    counter.scan("*3")
    assert counter.state.quote is not None
    parked_id = counter.park("1001")
    st = counter.state
    assert st.lines == [] and st.person is None and st.basket_id != parked_id
    [entry] = counter.parked()
    assert entry["basket_id"] == parked_id and entry["lines"] == 1
    assert entry["label"].endswith("×3") and entry["parked_at"].startswith("2026-03-16T10:00")
    # another customer is served meanwhile
    counter.identify(_known(service), "id", "id_checked")
    counter.scan(BARCODES[1])
    sale = counter.confirm(
        counter.state.basket_id,
        payment_method="cash",
        operator="1001",
        basket_version=counter.state.basket_version,
    )
    assert sale.basket_id != parked_id
    counter.forget_person()  # that customer leaves
    counter.recall(parked_id, "1001")
    st = counter.state
    assert [(line.code, line.qty) for line in st.lines] == [(st.lines[0].code, "3")]
    assert st.person is None and st.quote is None and st.notice == "recalled"
    assert counter.parked() == []
    # nothing is quoted until the customer is identified again
    counter.identify(_known(service), "id", "id_checked")
    assert counter.state.quote is not None and counter.state.quote.result is not None
    assert [k for k in _audit_kinds(service) if k in ("park", "recall")] == ["park", "recall"]


def test_a_card_in_the_reader_does_not_identify_a_recalled_basket_by_itself(
    counter: Counter,
) -> None:
    counter.card_event("reading")
    counter.card_event("read")
    counter.identify(_known(counter.service), "card", "card_checked")
    assert counter.state.card_is_customer()
    counter.scan(BARCODES[0])
    parked_id = counter.park("1001")
    assert counter.state.person is not None  # the card in the reader: the next basket's customer
    counter.recall(parked_id, "1001")
    assert counter.state.person is None and counter.state.quote is None


def test_recall_refuses_an_open_basket_a_basket_recalled_twice_and_an_empty_park(
    counter: Counter,
) -> None:
    with pytest.raises(CheckoutError) as empty:
        counter.park("1001")
    assert empty.value.code == "nothing_to_park"
    counter.scan(BARCODES[0])
    first = counter.park("1001")
    counter.scan(BARCODES[1])
    with pytest.raises(CheckoutError) as open_:
        counter.recall(first, "1001")
    assert open_.value.code == "basket_open"
    second = counter.park("1001")
    assert [p["basket_id"] for p in counter.parked()] == [first, second]
    counter.recall(first, "1001")
    counter.void("1001")
    with pytest.raises(CheckoutError) as again:
        counter.recall(first, "1001")
    assert again.value.code == "not_parked"
    assert [p["basket_id"] for p in counter.parked()] == [second]


def test_parked_baskets_outlive_a_restart_and_signing_out_parks_the_basket(
    counter: Counter,
) -> None:
    counter.scan(BARCODES[0])
    code = counter.state.lines[0].code
    counter.set_aside("1001", reason="signed_out")
    assert counter.state.lines == []
    [entry] = counter.parked()
    service = counter.service
    parks = [e for e in service.ledger.audit_log(100) if e["kind"] == "park"]
    assert parks[0]["detail"]["reason"] == "signed_out"
    service.ledger.close()
    again = open_terminal(service.config, clock=_Clock())  # the terminal starts again
    try:
        restarted = Counter(again, threading.RLock())
        assert [p["basket_id"] for p in restarted.parked()] == [entry["basket_id"]]
        restarted.recall(entry["basket_id"], "1002")
        [line] = restarted.state.lines
        assert line.code == code and line.qty == "1" and restarted.parked() == []
    finally:
        again.ledger.close()


def test_signing_out_with_only_a_customer_voids(counter: Counter) -> None:
    counter.identify(_known(counter.service), "id", "id_checked")
    counter.set_aside("1001", reason="signed_out")
    assert counter.parked() == [] and counter.state.person is None
    assert "void" in _audit_kinds(counter.service)
