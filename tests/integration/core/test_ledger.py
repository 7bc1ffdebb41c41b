"""The ledger on a real SQLite file: one atomic commit per sale, a chain that finds any edit."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from sync.protocol.signing import verify_entry_signature
from terminal.checkout.service import CheckoutService
from terminal.errors import CheckoutError, LedgerError
from terminal.ledger import GENESIS_HASH, entry_hash, verify_ledger
from terminal.settlement import parse_claim, result_to_json, settle
from terminal.settlement.money import parse_money


def _sell(service: CheckoutService, claim: dict[str, Any], n: int = 1) -> list[Any]:
    return [service.sell_claim(claim) for _ in range(n)]


def test_a_sale_writes_every_row_in_one_commit(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    [sale] = _sell(service, claim)
    ledger = service.ledger
    # the upload input is rebuilt from the stored rows; settling its claim again (as the platform
    # will) gives exactly its result
    ref = service.reference()
    again = settle(ref.policy, ref.catalogue, parse_claim(sale.upload_input["claim"]))
    assert sale.upload_input["result"] == result_to_json(again)
    assert sale.upload_input["claim"]["basket"] == claim["basket"]
    assert sale.upload_input["claim"]["person"] == claim["person"]
    assert sale.upload_input["mdtrt_cert_type"] == "02"
    assert "card_no" not in sale.upload_input and "card_sn" not in sale.upload_input
    assert sale.seq == 1
    assert sale.txn_id == f"{service.config.terminal.dev_no}-1"
    assert sale.upload_input["ledger"]["prev_hash"] == GENESIS_HASH
    assert sale.upload_input["ledger"]["hash"] == sale.hash == entry_hash(sale.upload_input)
    assert verify_entry_signature(
        ledger.key.public_b64, sale.hash, sale.upload_input["ledger"]["sig"]
    )
    counts = {
        t: ledger.query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"]
        for t in ("txns", "ledger", "outbox")
    }
    assert counts == {"txns": 1, "ledger": 1, "outbox": 1}
    lines = ledger.query("SELECT * FROM txn_lines WHERE seq = 1")
    assert len(lines) == len(claim["basket"])
    setl = sale.result["setlinfo"]
    row = ledger.txn(sale.txn_id)
    assert row is not None
    assert row["fund_pay_sumamt"] == parse_money(setl["fund_pay_sumamt"], "f")
    assert isinstance(row["fund_pay_sumamt"], int)


def test_the_person_cache_advances_with_each_sale(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    first, second = _sell(service, claim, 2)
    assert first.result["accumulators_after"] == second.upload_input["claim"]["accumulators"]
    year = int(claim["visit"]["date"][:4])
    cached = service.ledger.accumulators(claim["person"]["psn_cert"], year)
    assert cached is not None
    after = second.result["accumulators_after"]
    assert cached["acct_balance"] == after["acct_balance"]
    for pool, fields in after.get("pools", {}).items():
        assert cached["pools"][pool] == fields


def test_entries_chain_and_verify(service: CheckoutService, claim: dict[str, Any]) -> None:
    sales = _sell(service, claim, 5)
    for before, after in zip(sales, sales[1:], strict=False):
        assert after.upload_input["ledger"]["prev_hash"] == before.hash
    for workers in (1, 2, 4):
        report = verify_ledger(service.ledger, workers=workers)
        assert report.ok, report
        assert (report.entries, report.head_seq) == (5, 5)


def _raw(service: CheckoutService) -> sqlite3.Connection:
    """A second connection, as someone with a database editor would use."""
    conn = sqlite3.connect(str(service.ledger.path), isolation_level=None)
    for name in (
        "ledger_no_update",
        "ledger_no_delete",
        "closures_no_update",
        "closures_no_delete",
    ):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    return conn


@pytest.mark.parametrize(
    ("tamper", "bad_seq"),
    [
        ("UPDATE txns SET fund_pay_sumamt = fund_pay_sumamt + 1 WHERE seq = 3", 3),
        ("UPDATE txns SET psn_cert = '110101199003070011' WHERE seq = 2", 2),
        ("UPDATE txn_lines SET qty = '9' WHERE seq = 4 AND line_no = 0", 4),
        (
            "UPDATE txn_accumulators SET amount = amount + 100 WHERE seq = 2 AND phase = 'before' "
            "AND path = 'acct_balance'",
            2,
        ),
        ("UPDATE ledger SET sig = (SELECT sig FROM ledger WHERE seq = 1) WHERE seq = 2", 2),
        ("DELETE FROM ledger WHERE seq = 3", 3),
        ("DELETE FROM txn_lines WHERE seq = 2", 2),
        ("UPDATE txns SET settled_at = '2026-03-17 09:00:00' WHERE seq = 5", 5),
    ],
)
@pytest.mark.parametrize("workers", [1, 3])
def test_any_edit_is_found_at_its_seq(
    service: CheckoutService, claim: dict[str, Any], tamper: str, bad_seq: int, workers: int
) -> None:
    _sell(service, claim, 5)
    assert verify_ledger(service.ledger, workers=workers).ok
    _raw(service).execute(tamper)
    report = verify_ledger(service.ledger, workers=workers)
    assert not report.ok
    assert report.bad_seq == bad_seq, report


def test_reordered_entries_are_found(service: CheckoutService, claim: dict[str, Any]) -> None:
    _sell(service, claim, 4)
    conn = _raw(service)
    # swap the entries (and their rows) of seq 2 and 3
    for table in ("ledger", "txns", "txn_lines", "txn_accumulators"):
        conn.execute(f"UPDATE {table} SET seq = -2 WHERE seq = 2")
        conn.execute(f"UPDATE {table} SET seq = 2 WHERE seq = 3")
        conn.execute(f"UPDATE {table} SET seq = 3 WHERE seq = -2")
    report = verify_ledger(service.ledger)
    assert not report.ok
    assert report.bad_seq == 2


def test_an_inserted_entry_is_found(service: CheckoutService, claim: dict[str, Any]) -> None:
    _sell(service, claim, 3)
    dev = service.config.terminal.dev_no
    conn = _raw(service)
    # make room at seq 2 and forge an entry there from a copy of entry 1
    for table in ("ledger", "txns", "txn_lines", "txn_accumulators", "outbox"):
        conn.execute(f"UPDATE {table} SET seq = seq + 1000 WHERE seq >= 2")
        conn.execute(f"UPDATE {table} SET seq = seq - 999 WHERE seq >= 1000")
    for table in ("txns", "ledger", "outbox"):
        conn.execute(f"UPDATE {table} SET txn_id = 'tmp-' || seq WHERE seq >= 3")
        conn.execute(f"UPDATE {table} SET txn_id = ? || '-' || seq WHERE seq >= 3", (dev,))
    cols = [r[1] for r in conn.execute("PRAGMA table_info(txns)")]
    select = ", ".join("2" if c == "seq" else (f"'{dev}-2'" if c == "txn_id" else c) for c in cols)
    conn.execute(f"INSERT INTO txns SELECT {select} FROM txns WHERE seq = 1")
    conn.execute(
        "INSERT INTO txn_lines SELECT 2, line_no, code, name, chrgitm_lv, covered, reason, "
        "qty, price, det_item_fee_sumamt, fulamt_ownpay_amt, overlmt_selfpay, "
        "preselfpay_amt, inscp_scp_amt, trac, trdn_flag, trac_format, extra FROM txn_lines "
        "WHERE seq = 1"
    )
    conn.execute(
        "INSERT INTO ledger SELECT 2, ? || '-2', hash, hash, sig FROM ledger WHERE seq = 1", (dev,)
    )
    report = verify_ledger(service.ledger)
    assert not report.ok
    assert report.bad_seq == 2


def test_cutting_off_the_newest_entries_is_found_by_the_head_anchor(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    _sell(service, claim, 4)
    conn = _raw(service)
    for table in ("ledger", "txns", "txn_lines", "txn_accumulators", "outbox"):
        conn.execute(f"DELETE FROM {table} WHERE seq = 4")
    report = verify_ledger(service.ledger)
    assert not report.ok
    assert report.anchor == "head"


def test_the_ledger_and_audit_log_refuse_updates_and_deletes(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    _sell(service, claim)
    conn = sqlite3.connect(str(service.ledger.path), isolation_level=None)
    for sql in (
        "UPDATE ledger SET hash = 'x'",
        "DELETE FROM ledger",
        "DELETE FROM audit",
        "UPDATE audit SET kind = 'x'",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)


def test_a_refund_negates_the_sale_and_gives_back_the_accumulators(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    year = int(claim["visit"]["date"][:4])
    psn = claim["person"]["psn_cert"]
    _sell(service, claim)
    before_second = service.ledger.accumulators(psn, year)
    second = service.sell_claim(claim)
    refund = service.refund(second.txn_id, reason="wrong item", operator="sup01")
    assert refund.seq == 3
    assert refund.upload_input["orig_txn_id"] == second.txn_id
    assert service.ledger.accumulators(psn, year) == before_second
    outbox = service.ledger.query("SELECT kind, fund_pay_sumamt FROM outbox WHERE seq = 3")[0]
    assert outbox["kind"] == "reversal"
    assert outbox["fund_pay_sumamt"] == -parse_money(
        second.result["setlinfo"]["fund_pay_sumamt"], "f"
    )
    assert verify_ledger(service.ledger).ok
    kinds = [r["kind"] for r in service.ledger.audit_log()]
    assert "refund" in kinds


def test_a_second_refund_and_a_refund_of_a_refund_are_refused(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    [sale] = _sell(service, claim)
    refund = service.refund(sale.txn_id, reason="returned", operator="sup01")
    with pytest.raises(CheckoutError, match="already refunded"):
        service.refund(sale.txn_id, reason="again", operator="sup01")
    with pytest.raises(CheckoutError, match="itself a refund"):
        service.refund(refund.txn_id, reason="undo", operator="sup01")
    with pytest.raises(CheckoutError, match="no sale"):
        service.refund("H-999", reason="x", operator="sup01")
    assert service.ledger.head()[0] == 2
    refusals = [r for r in service.ledger.audit_log() if r["kind"] == "refusal"]
    assert len(refusals) == 3


def test_day_closures_chain_and_cover_every_entry_once(
    service: CheckoutService, claim: dict[str, Any], clock: Any
) -> None:
    sales = _sell(service, claim, 3)
    service.refund(sales[0].txn_id, reason="returned", operator="sup01")
    first = service.close_day(None, "sup01")
    assert (first["first_seq"], first["last_seq"]) == (1, 4)
    assert (first["sale_count"], first["reversal_count"]) == (3, 1)
    fund = sum(parse_money(s.result["setlinfo"]["fund_pay_sumamt"], "f") for s in sales[1:])
    assert first["fund_pay_sumamt"] == fund
    with pytest.raises(LedgerError, match="already closed"):
        service.close_day(None, "sup01")
    clock.advance(days=1)
    _sell(service, claim)
    second = service.close_day(None, "sup01")
    assert second["prev_closure_hash"] == first["hash"]
    assert (second["first_seq"], second["last_seq"]) == (5, 5)
    report = verify_ledger(service.ledger)
    assert report.ok and report.closures == 2


def test_an_edited_closure_is_found(service: CheckoutService, claim: dict[str, Any]) -> None:
    _sell(service, claim, 2)
    service.close_day(None, "sup01")
    _raw(service).execute("UPDATE closures SET fund_pay_sumamt = 0")
    report = verify_ledger(service.ledger)
    assert not report.ok
    assert report.anchor is not None and report.anchor.startswith("closure")


def test_a_claim_without_a_visit_date_is_dated_today_in_the_region(
    service: CheckoutService, claim: dict[str, Any], clock: Any
) -> None:
    undated = {**claim, "visit": {k: v for k, v in claim["visit"].items() if k != "date"}}
    clock.at = clock.at.replace(hour=17)  # 01:00 the next day in Hangzhou (UTC+8)
    sale = service.sell_claim(undated)
    expected = clock.at.astimezone(service.config.tz).date().isoformat()
    assert sale.upload_input["claim"]["visit"]["date"] == expected
    assert sale.upload_input["settled_at"].startswith(expected)


def test_a_refund_frees_the_persons_offline_allowance_for_the_day(
    open_service: Any, claim: dict[str, Any]
) -> None:
    from terminal.checkout.service import CheckoutRefused

    service = open_service(risk={"offline_max_sales_per_person_day": 1})
    first = service.sell_claim(claim)
    with pytest.raises(CheckoutRefused) as refused:
        service.sell_claim(claim)
    assert refused.value.refusal.code == "offline_person_count"
    service.refund(first.txn_id, reason="wrong person", operator="sup01")
    assert service.sell_claim(claim).seq == 3
    audit = [r for r in service.ledger.audit_log() if r["kind"] == "refusal"]
    assert audit[0]["detail"]["code"] == "offline_person_count"
    assert claim["person"]["psn_cert"] not in str(audit[0]["detail"])  # masked in the log
