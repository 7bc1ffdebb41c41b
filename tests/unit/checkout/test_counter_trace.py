"""Traceability codes at the counter (trace-codes.md "At the counter"), over a real ledger: after
a drug line the scan field takes its codes, "codes n / N", Enter on the empty field names the line
that needs codes, a code is never an item and an item barcode never a code."""

from __future__ import annotations

import pytest

from terminal.checkout.counter import Counter, Sale
from terminal.errors import CheckoutError
from terminal.identity.model import CERT_ID_NUMBER, Identity

DRUG = "6911500000060"  # 头孢氨苄胶囊 0.125g*36粒: trac_required, no no-code stock
STOCKED = "6910100000012"  # 阿莫西林胶囊: an item of the demo claims (no-code stock)
CODES = ["81000000000000000001", "81000000000000000002", "(01)06901234567892(21)A1"]


def _known(counter: Counter) -> Identity:
    row = counter.service.ledger.query("SELECT psn_cert FROM persons ORDER BY psn_cert LIMIT 1")
    return Identity(row[0][0], "", CERT_ID_NUMBER, row[0][0])


def _refused(counter: Counter, text: str) -> str:
    with pytest.raises(CheckoutError) as err:
        counter.scan(text)
    return err.value.code


def test_after_a_drug_line_the_scan_field_takes_its_codes(counter: Counter) -> None:
    counter.scan(DRUG)
    counter.scan("*2")
    line = counter.state.lines[0]
    assert (line.trac_need, counter.state.trace_line) == (2, 0)
    counter.scan(CODES[0])
    counter.scan(CODES[2])
    assert line.trac == [CODES[0], "010690123456789221A1"]
    assert _refused(counter, CODES[1]) == "trace_count_mismatch"  # the line has its two
    counter.scan(STOCKED)  # a product barcode is an item, never a code
    assert [x.code for x in counter.state.lines] == ["XJ01DB0006", "XJ01CA0001"]
    assert counter.state.trace_line == 1  # the next drug line takes the codes now
    assert _refused(counter, CODES[0]) == "trace_duplicate_in_sale"


def test_a_code_without_a_drug_line_is_not_taken_for_an_item(counter: Counter) -> None:
    assert _refused(counter, CODES[0]) == "trace_no_line"
    assert counter.state.lines == []


def test_enter_on_the_empty_field_names_the_line_that_needs_codes(counter: Counter) -> None:
    counter.scan(DRUG)
    counter.scan("*3")
    counter.scan(CODES[0])
    counter.scan("")
    assert counter.state.notice == "trace_missing"
    assert counter.state.trace_missing == [(1, 3, 1)]


def test_a_drug_line_with_its_codes_sells_and_one_without_is_refused(counter: Counter) -> None:
    counter.identify(_known(counter), "id", "id_checked")
    counter.scan(DRUG)
    quote = counter.state.quote
    assert quote is not None and quote.refusal is not None
    assert quote.refusal.code == "trace_missing" and quote.refusal.message.startswith("line 1:")
    counter.scan(CODES[1])
    assert counter.state.quote is not None and counter.state.quote.refusal is None
    sale = counter.confirm(counter.state.basket_id, payment_method="cash", operator="1001")
    assert isinstance(sale, Sale)
    rows = counter.service.ledger.query("SELECT code, txn_id FROM trace_codes")
    assert [tuple(r) for r in rows] == [(CODES[1], sale.txn_id)]


def test_the_demo_scanner_types_fresh_codes_for_each_drug_line(counter: Counter) -> None:
    from terminal.demo.trace import fresh_demo_trace_code

    counter.scan(DRUG)
    counter.scan("*2")
    counter.scan(STOCKED)
    assert counter.scan_codes_for_lines(fresh_demo_trace_code) == 3
    first, second = counter.state.lines
    assert len(first.trac) == 2 and len(second.trac) == 1
    assert all(len(c) == 20 and c[0] == "8" for c in first.trac + second.trac)
    assert counter.scan_codes_for_lines(fresh_demo_trace_code) == 0  # nothing missing now


def test_a_misread_product_barcode_is_not_taken_for_a_code(counter: Counter) -> None:
    counter.scan(DRUG)
    assert _refused(counter, "6910100000013") == "bad_barcode"  # its check digit is wrong
    assert counter.state.lines[0].trac == []


def test_a_long_search_word_is_not_taken_for_a_code(counter: Counter) -> None:
    counter.scan(DRUG)
    counter.scan("amoxicillin")
    assert counter.state.lines[0].trac == []
    counter.scan("AB12CD34EF")  # letters and digits: an `other` code
    assert counter.state.lines[0].trac == ["AB12CD34EF"]
