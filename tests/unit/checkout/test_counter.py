"""The counter's transitions without a browser: identify, clear, add and scan, the pre-settlement,
the basket's version, void, confirm and self-pay, over a terminal on a real ledger file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from terminal.checkout.counter import Counter, Sale, SelfPaid
from terminal.checkout.service import CheckoutService
from terminal.errors import CheckoutError
from terminal.identity.model import CERT_ID_NUMBER, Identity

BARCODE = "6910100000012"  # a catalogue item of the demo data


def _known(service: CheckoutService) -> Identity:
    """A person in the terminal's person list (the demo data)."""
    row = service.ledger.query("SELECT psn_cert FROM persons ORDER BY psn_cert LIMIT 1")[0]
    return Identity(row[0], "", CERT_ID_NUMBER, row[0])


def _stranger() -> Identity:
    cert = "110101199001010011"
    return Identity(cert, "陌生人", CERT_ID_NUMBER, cert)


def _audits(service: CheckoutService, kind: str) -> list[dict[str, Any]]:
    return [e for e in service.ledger.audit_log(100) if e["kind"] == kind]


def test_a_new_counter_is_empty_with_the_terminals_visit_type(counter: Counter) -> None:
    st = counter.state
    assert st.person is None and st.lines == [] and st.quote is None and st.problem is None
    assert st.med_type == "41"  # a pharmacy (config.toml inst_level)
    assert counter.version == 0 and counter.self_pay_reason() is None


def test_every_change_bumps_the_version_once(counter: Counter) -> None:
    counter.scan(BARCODE)
    assert counter.version == 1
    counter.set_qty(0, "3")
    assert counter.version == 2
    assert counter.wait_change(1, 0.0) == 2  # already past what the page saw: no wait
    counter.scan("   ")  # nothing scanned: nothing changed
    assert counter.version == 2


def test_the_same_item_scanned_again_adds_to_its_line(counter: Counter) -> None:
    counter.scan(BARCODE)
    counter.scan(BARCODE)
    [line] = counter.state.lines
    assert line.known and line.qty == "2" and line.price is not None
    counter.scan("*5")  # the quantity of the last line
    assert counter.state.lines[0].qty == "5"
    assert counter.basket() == [{"code": line.code, "qty": "5", "price": line.price}]


def test_an_unknown_barcode_is_kept_as_a_line_that_needs_a_price(counter: Counter) -> None:
    counter.identify(_known(counter.service), "id", "id_checked")
    counter.scan("12345670")  # not in the catalogue; a right GTIN-8 check digit
    [line] = counter.state.lines
    assert not line.known and line.price is None and counter.state.notice == "unknown_barcode"
    assert counter.state.problem is not None and counter.state.problem[0] == "price_needed"
    assert counter.state.quote is None
    with pytest.raises(CheckoutError) as bad:
        counter.set_price(0, "1.005")
    assert bad.value.code == "bad_price"
    counter.set_price(0, "4.5")
    assert counter.state.lines[0].price == "4.50"
    assert counter.state.problem is None and counter.state.quote is not None


def test_words_offer_choices_and_picking_one_adds_it(counter: Counter) -> None:
    counter.scan("zzzzzz")
    assert counter.state.choices == [] and counter.state.notice == "nothing_found"
    counter.scan("amxl")  # pinyin initials of 阿莫西林…: several items
    choices = counter.state.choices
    assert len(choices) > 1 and counter.state.notice == "choose" and counter.state.lines == []
    assert all(c["name"].startswith("阿莫西林") for c in choices)
    counter.add(choices[1]["code"])
    assert [line.code for line in counter.state.lines] == [choices[1]["code"]]
    assert counter.state.choices == []
    counter.scan(choices[0]["code"])  # a catalogue code
    assert len(counter.state.lines) == 2


def test_line_edits_refuse_what_is_not_a_number_or_no_longer_there(counter: Counter) -> None:
    counter.scan(BARCODE)
    with pytest.raises(CheckoutError) as bad_qty:
        counter.set_qty(0, "two")
    with pytest.raises(CheckoutError) as bad_line:
        counter.remove(3)
    with pytest.raises(CheckoutError) as bad_visit:
        counter.set_med_type("99")
    with pytest.raises(CheckoutError) as unknown:
        counter.add("NOT-IN-CATALOGUE")
    codes = [e.value.code for e in (bad_qty, bad_line, bad_visit, unknown)]
    assert codes == ["bad_quantity", "bad_line", "bad_med_type", "unknown_item"]
    counter.set_qty(0, "0")  # zero removes the line
    assert counter.state.lines == []


def test_identifying_a_known_person_quotes_the_basket(counter: Counter) -> None:
    counter.scan(BARCODE)
    assert counter.state.quote is None and counter.self_pay_reason() == "not_identified"
    counter.identify(_known(counter.service), "id", "id_checked")
    st = counter.state
    assert st.person is not None and st.person.how == "id" and st.person.masked.count("*") == 8
    assert st.problem is None and st.quote is not None and st.quote.refusal is None
    assert counter.self_pay_reason() is None and counter.self_pay_amounts() is None


def test_a_person_not_in_the_list_may_only_pay_it_all(counter: Counter) -> None:
    counter.identify(_stranger(), "id", "id_checked")
    counter.scan(BARCODE)
    assert counter.state.problem is not None and counter.state.problem[0] == "unknown_person"
    assert counter.state.quote is None  # a problem about the person is not cleared by the basket
    assert counter.self_pay_reason() == "unknown_person"
    amounts = counter.self_pay_amounts()
    assert amounts is not None and counter.self_pay_total() == sum(amounts) > 0


def test_another_person_while_a_basket_is_open_keeps_the_basket(counter: Counter) -> None:
    counter.identify(_stranger(), "id", "id_checked")
    counter.scan(BARCODE)
    counter.identify(_known(counter.service), "id", "id_checked")
    assert counter.state.notice == "person_changed" and len(counter.state.lines) == 1
    assert counter.state.problem is None and counter.state.quote is not None


def test_a_card_removed_or_unreadable_is_shown(counter: Counter) -> None:
    counter.identify(_known(counter.service), "card", "card_checked")
    counter.card_event("none")
    assert counter.state.card == "none" and counter.state.notice == "card_removed"
    counter.card_event("error", "card removed: insert it again")
    assert counter.state.problem == ("card", "card removed: insert it again")


def test_void_clears_the_counter_keeps_the_card_slot_and_is_audited(counter: Counter) -> None:
    service = counter.service
    counter.card_event("present")
    counter.scan(BARCODE)
    basket_id = counter.state.basket_id
    counter.void("1001")
    st = counter.state
    assert st.lines == [] and st.person is None and st.basket_id != basket_id
    assert st.card == "present"
    [audit] = _audits(service, "void")
    assert audit["actor"] == "1001" and audit["detail"] == {"basket_id": basket_id, "lines": 1}
    counter.void("1001")  # nothing open: nothing to audit
    assert len(_audits(service, "void")) == 1


def test_confirm_refuses_what_is_not_ready(counter: Counter) -> None:
    def refusal(basket_id: str, method: str = "cash") -> str:
        with pytest.raises(CheckoutError) as refused:
            counter.confirm(basket_id, payment_method=method, operator="1001")
        return refused.value.code

    basket_id = counter.state.basket_id
    assert refusal("another-page") == "stale_basket"
    assert refusal(basket_id) == "no_person"
    counter.identify(_known(counter.service), "id", "id_checked")
    assert refusal(basket_id) == "empty_basket"
    counter.scan(BARCODE)
    assert refusal(basket_id, "cheque") == "bad_payment"
    assert counter.service.ledger.head()[0] == 0  # nothing written


def test_confirm_commits_prints_and_resets_and_a_second_confirm_finds_it(
    counter: Counter, printed: list[str]
) -> None:
    counter.identify(_known(counter.service), "id", "id_checked")
    counter.scan(BARCODE)
    basket_id = counter.state.basket_id
    sale = counter.confirm(basket_id, payment_method="mobile", operator="1001")
    assert isinstance(sale, Sale) and sale.basket_id == basket_id
    assert counter.service.ledger.head()[0] == sale.seq == 1
    assert printed == [sale.txn_id] and sale.printed == f"{sale.txn_id}.escpos"
    st = counter.state
    assert st.last_sale is sale and st.person is None and st.lines == []
    assert st.basket_id != basket_id
    again = counter.confirm(basket_id, payment_method="cash", operator="1001")  # a double click
    assert again is sale and counter.service.ledger.head()[0] == 1


def test_self_pay_is_refused_when_insurance_can_settle(counter: Counter) -> None:
    counter.identify(_known(counter.service), "id", "id_checked")
    counter.scan(BARCODE)
    with pytest.raises(CheckoutError) as refused:
        counter.self_pay(counter.state.basket_id, payment_method="cash", operator="1001")
    assert refused.value.code == "self_pay_not_offered"


def test_self_pay_sells_the_basket_without_insurance_once(
    counter: Counter, printed: list[str]
) -> None:
    counter.scan(BARCODE)
    total = counter.self_pay_total()
    basket_id = counter.state.basket_id
    sale = counter.self_pay(basket_id, payment_method="cash", operator="1001")
    assert isinstance(sale, SelfPaid) and sale.total == total and sale.payment_method == "cash"
    assert printed == [sale.self_pay_id] and counter.state.last_sale is sale
    assert counter.state.lines == [] and counter.service.ledger.head()[0] == 0  # not a sale
    assert counter.self_pay(basket_id, payment_method="mobile", operator="1001") is sale
    with pytest.raises(CheckoutError) as stale:
        counter.self_pay("another-page", payment_method="cash", operator="1001")
    assert stale.value.code == "stale_basket"


# -- the customer is the card in the reader (issue 13, findings 1 and 5) ----------------------


def _card_customer(counter: Counter) -> None:
    """A card inserted, read and identifying a known person, as the card watch reports it."""
    counter.card_event("reading")
    counter.card_event("read")
    counter.identify(_known(counter.service), "card", "card_checked")


def test_a_card_removed_clears_the_customer_it_identified(counter: Counter) -> None:
    _card_customer(counter)
    counter.scan(BARCODE)
    assert counter.state.quote is not None
    counter.card_event("none")
    st = counter.state
    assert st.person is None and st.quote is None and st.notice == "card_removed"
    assert len(st.lines) == 1  # the basket stays for the next card
    with pytest.raises(CheckoutError) as refused:
        counter.confirm(st.basket_id, payment_method="cash", operator="1001")
    assert refused.value.code == "no_person"


def test_a_failed_read_of_the_next_card_leaves_nobody_to_sell_to(counter: Counter) -> None:
    _card_customer(counter)
    counter.scan(BARCODE)
    counter.card_event("none")
    counter.card_event("reading")  # 王建国's card …
    counter.card_event("error", "card removed: insert it again")  # … could not be read
    counter.scan(BARCODE)
    st = counter.state
    assert st.person is None and st.quote is None and st.card == "error"
    assert counter.service.ledger.head()[0] == 0


def test_a_new_insertion_clears_the_customer_before_it_is_read(counter: Counter) -> None:
    counter.identify(_known(counter.service), "ecard", "ecard_checked")
    counter.scan(BARCODE)
    counter.card_event("reading")
    assert counter.state.person is None and counter.state.quote is None


def test_a_card_customer_is_not_sold_to_once_another_card_is_in_the_reader(
    counter: Counter,
) -> None:
    _card_customer(counter)
    counter.scan(BARCODE)
    counter.state.card_serial += 1  # a swap the watch has not reported yet
    with pytest.raises(CheckoutError) as refused:
        counter.confirm(counter.state.basket_id, payment_method="cash", operator="1001")
    assert refused.value.code == "card_changed"
    assert counter.service.ledger.head()[0] == 0


def test_the_card_in_the_reader_stays_the_customer_after_a_sale_and_a_void(
    counter: Counter,
) -> None:
    _card_customer(counter)
    counter.scan(BARCODE)
    counter.confirm(counter.state.basket_id, payment_method="cash", operator="1001")
    person = counter.state.person
    assert person is not None and person.how == "card" and counter.state.lines == []
    counter.scan(BARCODE)
    assert counter.state.quote is not None  # the next basket is quoted for the same card
    counter.void("1001")
    assert counter.state.person is not None and counter.state.lines == []
    counter.card_event("none")
    counter.void("1001")
    assert counter.state.person is None


def test_read_the_card_again_asks_the_watch(counter: Counter) -> None:
    with pytest.raises(CheckoutError) as refused:
        counter.read_card_again()
    assert refused.value.code == "no_reader"
    asked: list[int] = []
    counter.reread = lambda: asked.append(1)
    counter.read_card_again()
    assert asked == [1]


# -- confirm commits what the page showed (issue 13, finding 3) -------------------------------


def test_confirm_refuses_a_basket_changed_since_the_page_showed_it(counter: Counter) -> None:
    counter.identify(_known(counter.service), "id", "id_checked")
    counter.scan(BARCODE)
    shown = counter.state.basket_version
    counter.scan(BARCODE)  # a scan just before Enter
    basket_id = counter.state.basket_id
    with pytest.raises(CheckoutError) as refused:
        counter.confirm(basket_id, payment_method="cash", operator="1001", basket_version=shown)
    assert refused.value.code == "basket_changed"
    assert "check the new total" in str(refused.value)
    assert counter.service.ledger.head()[0] == 0
    sale = counter.confirm(
        basket_id,
        payment_method="cash",
        operator="1001",
        basket_version=counter.state.basket_version,
    )
    assert isinstance(sale, Sale)
    again = counter.confirm(basket_id, payment_method="cash", operator="1001", basket_version=shown)
    assert again is sale  # a double click of the committed basket still finds its sale


def test_every_change_to_the_basket_or_the_customer_moves_the_basket_version(
    counter: Counter,
) -> None:
    seen = [counter.state.basket_version]
    counter.scan(BARCODE)
    seen.append(counter.state.basket_version)
    counter.set_qty(0, "2")
    seen.append(counter.state.basket_version)
    counter.identify(_known(counter.service), "id", "id_checked")
    seen.append(counter.state.basket_version)
    counter.set_med_type("11")
    seen.append(counter.state.basket_version)
    assert seen == sorted(set(seen))  # strictly increasing


# -- bounds and messages (issue 13) ------------------------------------------------------------

OTHER = "6910100000029"  # another catalogue item of the demo data


def _refusal(action: Callable[[], object]) -> CheckoutError:
    with pytest.raises(CheckoutError) as refused:
        action()
    return refused.value


def test_a_scanned_quantity_acts_on_the_line_last_scanned_or_merged(counter: Counter) -> None:
    counter.scan(BARCODE)
    counter.scan(OTHER)
    counter.scan(BARCODE)  # merged into the first line: that is the line last scanned
    counter.scan("*3")
    assert [line.qty for line in counter.state.lines] == ["3", "1"]
    counter.scan(OTHER)
    counter.scan("x2")
    assert [line.qty for line in counter.state.lines] == ["3", "2"]
    counter.remove(1)
    counter.scan("*4")  # the line it acted on is gone: the last line
    assert [line.qty for line in counter.state.lines] == ["4"]


def test_a_zero_negative_or_exponent_quantity_is_refused_with_its_own_message(
    counter: Counter,
) -> None:
    counter.scan(BARCODE)
    codes = {}
    for text in ("*0", "*-2", "*1e3", "*abc", "*1000"):
        with pytest.raises(CheckoutError) as refused:
            counter.scan(text)
        codes[text] = (refused.value.code, str(refused.value))
    assert codes["*0"][0] == "qty_zero" and "✕" in codes["*0"][1]
    assert codes["*-2"][0] == "qty_negative" and "refund" in codes["*-2"][1]
    assert codes["*1e3"][0] == "qty_exponent" and "1e3" in codes["*1e3"][1]
    assert codes["*abc"][0] == "bad_quantity"
    assert codes["*1000"][0] == "qty_too_large" and "999" in codes["*1000"][1]  # [web] max_qty
    assert len({message for _code, message in codes.values()}) == 5
    assert [line.qty for line in counter.state.lines] == ["1"]  # nothing changed
    assert _refusal(lambda: counter.set_qty(0, "1000")).code == "qty_too_large"


def test_each_bad_price_has_its_own_message(counter: Counter) -> None:
    counter.scan("12345670")
    messages = {}
    for text in ("cheap", "0", "-1", "1.005", "1e3", "100001"):
        with pytest.raises(CheckoutError) as refused:
            counter.set_price(0, text)
        messages[text] = str(refused.value)
    assert len(set(messages.values())) == len(messages)
    assert counter.state.lines[0].price is None


def test_a_mistyped_barcode_is_said_to_be_one_not_a_self_pay_line(counter: Counter) -> None:
    refusal = _refusal(lambda: counter.scan("6910100000013"))  # BARCODE with one digit wrong
    assert refusal.code == "bad_barcode" and "check digit" in str(refusal)
    assert counter.state.lines == []


def test_the_last_sale_box_goes_when_the_next_customer_begins(counter: Counter) -> None:
    counter.identify(_known(counter.service), "id", "id_checked")
    counter.scan(BARCODE)
    counter.confirm(counter.state.basket_id, payment_method="cash", operator="1001")
    assert counter.state.last_sale is not None
    counter.scan(BARCODE)
    assert counter.state.last_sale is None


def test_a_total_above_the_threshold_needs_the_total_checked(counter: Counter) -> None:
    from terminal.checkout.counter_state import check_total_checked

    counter.identify(_known(counter.service), "id", "id_checked")
    counter.scan(BARCODE)
    quote = counter.state.quote
    assert quote is not None and quote.result is not None
    total = quote.result.medfee_sumamt
    check_total_checked(counter.state, total, "")  # at the threshold: no step
    refusal = _refusal(lambda: check_total_checked(counter.state, total - 1, ""))
    assert refusal.code == "total_not_checked"
    wrong = _refusal(lambda: check_total_checked(counter.state, total - 1, str(total + 1)))
    assert wrong.code == "total_not_checked"  # ticked for another total
    check_total_checked(counter.state, total - 1, str(total))


def test_a_basket_left_by_a_cashier_signing_out_is_voided_with_the_reason(
    counter: Counter,
) -> None:
    counter.scan(BARCODE)
    basket_id = counter.state.basket_id
    counter.void("1001", reason="signed_out")
    [audit] = _audits(counter.service, "void")
    assert audit["detail"] == {"basket_id": basket_id, "lines": 1, "reason": "signed_out"}
    assert counter.state.lines == []  # nothing handed to the next operator
