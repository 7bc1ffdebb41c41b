"""The commit path is correct across units, and its presorted entry hash is the canonical one.

Every sale reads what it depends on inside its own write unit, and nothing is held from one unit
to the next. These tests change those rows in every way the terminal can meet (another process, a
raw statement on the same connection, a sale that rolled back, a refund) and check that the next
sale sees the change.
"""

from __future__ import annotations

import copy
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from terminal.checkout.service import CheckoutRefused, CheckoutService
from terminal.errors import IdentityError, NoSchemeError
from terminal.identity.model import CERT_ID_NUMBER, Identity
from terminal.ledger import verify_ledger
from terminal.ledger.records import LINE_COLUMNS
from terminal.ledger.schema import LINE_MONEY
from terminal.settlement.money import format_fen
from tests.conftest import HIGH_LIMITS


def _raw(service: CheckoutService) -> sqlite3.Connection:
    """Another connection to the terminal's database, as another process would hold."""
    return sqlite3.connect(str(service.ledger.path), isolation_level=None)


def _before(sale: Any) -> dict[str, Any]:
    return dict(sale.upload_input["claim"]["accumulators"])


def _after(sale: Any) -> dict[str, Any]:
    return dict(sale.result["accumulators_after"])


def test_two_processes_selling_in_turn_keep_one_chain_and_one_set_of_accumulators(
    open_service: Callable[..., CheckoutService], claim: dict[str, Any]
) -> None:
    one = open_service(risk=HIGH_LIMITS)
    two = open_service(risk=HIGH_LIMITS)  # the same database file, its own connection
    sales = [(one if i % 2 == 0 else two).sell_claim(claim) for i in range(6)]
    assert [s.seq for s in sales] == [1, 2, 3, 4, 5, 6]
    for earlier, later in zip(sales, sales[1:], strict=False):
        assert later.upload_input["ledger"]["prev_hash"] == earlier.hash
        assert _before(later) == _after(earlier)
    assert verify_ledger(one.ledger).ok


def test_a_row_changed_by_another_connection_reaches_the_next_sale(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    service.sell_claim(claim)
    _raw(service).execute(
        "UPDATE persons SET acct_balance = 12345 WHERE psn_cert = ?", (claim["person"]["psn_cert"],)
    )
    assert _before(service.sell_claim(claim))["acct_balance"] == "123.45"


def test_a_raw_statement_on_the_terminal_connection_reaches_the_next_sale(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    service.sell_claim(claim)
    conn = service.ledger.conn
    conn.execute(
        "UPDATE persons SET acct_balance = 54321 WHERE psn_cert = ?", (claim["person"]["psn_cert"],)
    )
    conn.commit()
    assert _before(service.sell_claim(claim))["acct_balance"] == "543.21"


def test_a_hotlist_stored_meanwhile_refuses_the_next_sale(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    service.sell_claim(claim)
    psn_cert = claim["person"]["psn_cert"]
    _raw(service).execute(
        "UPDATE refdata SET version = version + 1, body = ? WHERE kind = 'hotlist'",
        (f'{{"entries": [{{"kind": "psn_cert", "value": "{psn_cert}", "reason": "x"}}]}}',),
    )
    with pytest.raises(CheckoutRefused) as refused:
        service.sell_claim(claim)
    assert refused.value.code == "hotlisted"


def test_unsynced_payments_added_by_another_process_count_toward_the_limit(
    open_service: Callable[..., CheckoutService], claim: dict[str, Any]
) -> None:
    service = open_service(risk={**HIGH_LIMITS, "max_unsynced_fund": "1000.00"})
    service.sell_claim(claim)
    _raw(service).execute("UPDATE meta SET value = '99990' WHERE key = 'outbox_fund'")
    with pytest.raises(CheckoutRefused) as refused:
        service.sell_claim(claim)
    assert refused.value.code == "unsynced_exposure"


def test_a_sale_rolled_back_after_its_writes_leaves_nothing_held(
    service: CheckoutService,
) -> None:
    row = service.ledger.query("SELECT psn_cert, name FROM persons ORDER BY psn_cert LIMIT 1")[0]
    code = Identity(
        row["psn_cert"], row["name"], CERT_ID_NUMBER, row["psn_cert"], ecard_cti=b"cti-1"
    )
    basket = [{"barcode": "6910100000012", "qty": "1"}]
    first = service.sell(code, basket)
    with pytest.raises(IdentityError):  # the same code again: refused after the rows were written
        service.sell(code, basket)
    plain = Identity(row["psn_cert"], row["name"], CERT_ID_NUMBER, row["psn_cert"])
    second = service.sell(plain, basket)
    assert second.seq == first.seq + 1
    assert second.upload_input["ledger"]["prev_hash"] == first.hash
    assert _before(second) == _after(first)
    assert verify_ledger(service.ledger).ok


def test_a_person_seeded_by_a_sale_that_failed_is_seeded_again(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    newcomer = {**claim["person"], "psn_cert": "110101199003070011", "psn_no": "9"}
    uncovered = {**claim, "person": {**newcomer, "insutype": "999"}}
    with pytest.raises(NoSchemeError):  # after the seed was written and read back: rolled back
        service.sell_claim(uncovered)
    assert service.ledger.get_person(newcomer["psn_cert"]) is None
    sale = service.sell_claim({**claim, "person": newcomer})
    assert service.ledger.get_person(newcomer["psn_cert"]) is not None
    assert _before(sale)["acct_balance"] == claim["accumulators"]["acct_balance"]


def test_a_refund_between_sales_gives_the_next_sale_the_accumulators_back(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    first = service.sell_claim(claim)
    second = service.sell_claim(claim)
    service.refund(second.txn_id, reason="returned", operator="sup01")
    third = service.sell_claim(claim)
    assert _before(third) == _before(second) == _after(first)
    assert third.seq == 4 and verify_ledger(service.ledger).ok


def test_a_quote_then_the_sale_settle_alike(service: CheckoutService) -> None:
    row = service.ledger.query("SELECT psn_cert, name FROM persons ORDER BY psn_cert LIMIT 1")[0]
    who = Identity(row["psn_cert"], row["name"], CERT_ID_NUMBER, row["psn_cert"])
    basket = [{"barcode": "6910100000012", "qty": "2"}]
    service.sell(who, basket)
    quote = service.quote(who, basket)
    sale = service.sell(who, basket)
    assert quote.result is not None
    assert sale.result["setlinfo"]["fund_pay_sumamt"] == format_fen(quote.result.fund_pay_sumamt)


# -- the presorted entry hash ------------------------------------------------------------------


def test_sale_input_reads_txn_lines_rows_by_position() -> None:
    assert LINE_COLUMNS[2:9] == ("code", "name", "chrgitm_lv", "covered", "reason", "qty", "price")
    money = ("det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt")
    assert LINE_COLUMNS[9:14] == LINE_MONEY == (*money, "inscp_scp_amt")
    assert LINE_COLUMNS[14:] == ("trac", "trdn_flag", "trac_format", "extra")


def test_a_prepared_claim_sells_again_and_again_unchanged_by_later_edits(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    """`prepare_claim` validates once (the benchmark's commit path; `sell_claim` is the two in
    turn): each commit is a sale of its own, on the accumulators the previous one left."""
    undated = copy.deepcopy(claim)
    del undated["visit"]["date"]
    prepared = service.prepare_claim(undated)
    qty = undated["basket"][0]["qty"]
    undated["basket"][0]["qty"] = "99"  # the caller's document changes after validation
    undated["person"]["insutype"] = "390"
    first = service.commit_claim(prepared)
    second = service.commit_claim(prepared)
    assert (first.seq, second.seq) == (1, 2)
    assert _before(second) == _after(first)
    for sale in (first, second):
        assert sale.upload_input["claim"]["basket"][0]["qty"] == qty
        assert sale.upload_input["claim"]["person"]["insutype"] == claim["person"]["insutype"]
        assert sale.upload_input["claim"]["visit"]["date"] == service.local_now().date().isoformat()
    again = service.sell_claim(claim)
    assert _before(again) == _after(second)
    assert verify_ledger(service.ledger).ok
