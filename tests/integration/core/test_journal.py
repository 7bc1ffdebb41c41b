"""The journal (docs/core.md "The journal"): self-pay sales and their refunds, day closures and the
audit log in signed chains that `ledger verify` walks; the closures cover the sales of their days;
time runs forward. Each attack here is an offline edit of the SQLite file by someone with a
database editor, the append-only triggers dropped first."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from terminal.checkout.selfpay import refund_self_pay, sell_self_pay
from terminal.checkout.service import CheckoutRefused, CheckoutService
from terminal.errors import CheckoutError, LedgerCorruptError
from terminal.ledger import SqliteLedger, closure_hash, verify_ledger

BASKET: list[dict[str, Any]] = [{"barcode": "6910100000012", "qty": "2"}]
TRIGGERS = (
    "ledger_no_update",
    "ledger_no_delete",
    "closures_no_update",
    "closures_no_delete",
    "audit_no_update",
    "audit_no_delete",
    "self_pay_sales_no_update",
    "self_pay_sales_no_delete",
    "self_pay_lines_no_update",
    "self_pay_lines_no_delete",
    "journal_no_delete",
    "journal_sign_once",
)


def _raw(service: CheckoutService) -> sqlite3.Connection:
    """A second connection, as someone with a database editor would use, triggers dropped."""
    conn = sqlite3.connect(str(service.ledger.path), isolation_level=None)
    for name in TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    return conn


def _self_pay(service: CheckoutService, basket_id: str) -> str:
    sold = sell_self_pay(
        service, BASKET, basket_id=basket_id, payment_method="cash", reason="requested"
    )
    return sold.record.self_pay_id


def _three_days(service: CheckoutService, claim: dict[str, Any], clock: Any) -> None:
    """Day 1: a sale, two self-pay sales, one refunded; closed. Day 2: the same; closed. Day 3:
    a sale and a self-pay sale, not closed."""
    for day in range(3):
        service.sell_claim(claim)
        first = _self_pay(service, f"d{day}-a")
        if day < 2:
            _self_pay(service, f"d{day}-b")
            refund_self_pay(service, first, reason="returned", operator="sup01")
            service.close_day(None, "sup01")
            clock.advance(days=1)
            claim["visit"]["date"] = clock.now().astimezone(service.config.tz).date().isoformat()


def test_self_pay_sales_refunds_closures_and_audit_rows_are_in_signed_chains(
    service: CheckoutService, claim: dict[str, Any], clock: Any
) -> None:
    _three_days(service, claim, clock)
    report = verify_ledger(service.ledger)
    assert report.ok, report
    assert report.closures == 2
    conn = service.ledger.conn
    chains = dict(conn.execute("SELECT chain, COUNT(*) FROM journal GROUP BY chain").fetchall())
    assert chains["self_pay"] == conn.execute("SELECT COUNT(*) FROM self_pay_sales").fetchone()[0]
    assert chains["self_pay"] == 7  # 5 sales and 2 refunds
    assert chains["audit"] == conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
    assert conn.execute("SELECT COUNT(*) FROM journal WHERE sig IS NULL").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("tamper", "where"),
    [
        # a self-pay sale of a closed day, deleted: its closure no longer matches
        (
            [
                "DELETE FROM self_pay_lines WHERE sale_id = 2",
                "DELETE FROM self_pay_sales WHERE id = 2",
            ],
            "closure 1",
        ),
        # a self-pay sale of today (not closed yet), deleted: its journal entry names it
        (
            [
                "DELETE FROM self_pay_lines WHERE sale_id = 7",
                "DELETE FROM self_pay_sales WHERE id = 7",
            ],
            "self_pay journal entry 7",
        ),
        # ... and its journal entry too: the chain's recorded head finds the cut
        (
            [
                "DELETE FROM self_pay_lines WHERE sale_id = 7",
                "DELETE FROM self_pay_sales WHERE id = 7",
                "DELETE FROM journal WHERE chain = 'self_pay' AND seq = 7",
            ],
            "self_pay journal",
        ),
        # a self-pay refund's amount edited
        (["UPDATE self_pay_sales SET reason = 'x' WHERE id = 3"], "self_pay journal entry 3"),
        # an audit row deleted, or edited
        (["DELETE FROM audit WHERE id = 2"], "audit journal entry 2"),
        (["UPDATE audit SET actor = 'nobody' WHERE id = 3"], "audit journal entry 3"),
        # the last closure deleted: the closures' recorded head finds it
        (["DELETE FROM closures WHERE closure_no = 2"], "closures"),
        # the first closure deleted and the second renumbered 1
        (
            [
                "DELETE FROM closures WHERE closure_no = 1",
                "UPDATE closures SET closure_no = 1 WHERE closure_no = 2",
            ],
            "closure",
        ),
    ],
)
def test_offline_edits_of_the_journal_are_found(
    service: CheckoutService, claim: dict[str, Any], clock: Any, tamper: list[str], where: str
) -> None:
    _three_days(service, claim, clock)
    assert verify_ledger(service.ledger).ok
    conn = _raw(service)
    for sql in tamper:
        assert conn.execute(sql).rowcount == 1, sql
    report = verify_ledger(service.ledger)
    assert not report.ok, report
    assert report.anchor is not None and report.anchor.startswith(where), report


def test_a_deleted_closure_cannot_be_signed_again_under_its_number(
    service: CheckoutService, claim: dict[str, Any], clock: Any
) -> None:
    _three_days(service, claim, clock)
    conn = _raw(service)
    conn.execute("DELETE FROM closures")  # every closure gone: the next would be "closure 1"
    with pytest.raises(LedgerCorruptError, match="closure 2 was the last one signed"):
        service.close_day(None, "sup01")
    assert service.ledger.conn.execute("SELECT COUNT(*) FROM closures").fetchone()[0] == 0
    report = verify_ledger(service.ledger)
    assert not report.ok and report.anchor == "closures", report


def test_a_closure_resigned_with_other_totals_does_not_cover_its_sales(
    service: CheckoutService, claim: dict[str, Any], clock: Any
) -> None:
    # the device key re-signs anything: the closure's own hash and signature then hold, but its
    # figures are not those of the sales it names
    _three_days(service, claim, clock)
    row = dict(service.ledger.query("SELECT * FROM closures WHERE closure_no = 2")[0])
    row["self_pay_total"] -= 100
    row["hash"] = closure_hash(row)
    sig = service.ledger.key.sign_b64(bytes.fromhex(row["hash"]))
    conn = _raw(service)
    conn.execute(
        "UPDATE closures SET self_pay_total = ?, hash = ?, sig = ? WHERE closure_no = 2",
        (row["self_pay_total"], row["hash"], sig),
    )
    conn.execute(
        "UPDATE meta SET value = ? WHERE key = 'closure_head'",
        (json.dumps({"closure_no": 2, "hash": row["hash"]}),),
    )
    report = verify_ledger(service.ledger)
    assert not report.ok
    assert report.anchor is not None and report.anchor.startswith("closure 2"), report
    assert "self-pay" in (report.problem or ""), report


def test_a_sale_is_refused_while_the_clock_reads_earlier_than_the_last_entry(
    service: CheckoutService, claim: dict[str, Any], clock: Any
) -> None:
    service.sell_claim(claim)
    clock.advance(minutes=-10)
    with pytest.raises(CheckoutRefused) as refused:
        service.sell_claim(claim)
    assert refused.value.code == "clock_went_back"
    assert "the clock went back: fix the time" in str(refused.value)
    with pytest.raises(CheckoutError) as self_pay:
        _self_pay(service, "late-1")
    assert self_pay.value.code == "clock_went_back"
    assert service.ledger.head()[0] == 1
    clock.advance(minutes=11)
    assert service.sell_claim(claim).seq == 2


def test_no_sale_is_dated_into_a_closed_day(
    service: CheckoutService, claim: dict[str, Any], clock: Any
) -> None:
    service.sell_claim(claim)
    service.close_day(None, "sup01")
    with pytest.raises(CheckoutRefused) as refused:
        service.sell_claim(claim)
    assert refused.value.code == "day_closed"
    with pytest.raises(CheckoutError) as self_pay:
        _self_pay(service, "closed-1")
    assert self_pay.value.code == "day_closed"
    assert service.ledger.head()[0] == 1
    assert verify_ledger(service.ledger).ok


def test_an_enrolled_terminal_refuses_insurance_with_the_seeded_reference_data(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    with service.ledger.write() as unit:  # enrolled, no refresh from the platform yet
        unit.set_meta("enrolled_at", service.local_now().isoformat(timespec="seconds"))
        unit.commit()
    with pytest.raises(CheckoutRefused) as refused:
        service.sell_claim(claim)
    assert refused.value.code == "refdata_not_fetched"
    assert _self_pay(service, "seeded-1")  # self-pay still works


def _before_the_journal(path: Path) -> None:
    """Make the database as it was before migration m0005 (the journal)."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("DROP TABLE journal")
    conn.execute("DELETE FROM meta WHERE key LIKE 'journal/%' OR key = 'closure_head'")
    conn.execute("ALTER TABLE acks DROP COLUMN hash")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm0005_journal'")
    conn.close()


def test_an_existing_database_is_chained_by_the_migration_and_signed_at_the_next_open(
    service: CheckoutService, claim: dict[str, Any], clock: Any
) -> None:
    _three_days(service, claim, clock)
    path, dev_no = service.ledger.path, service.ledger.dev_no
    service.ledger.close()
    _before_the_journal(path)
    with SqliteLedger.open(path, dev_no=dev_no, signing=False) as reader:  # migrates
        report = verify_ledger(reader)
        assert not report.ok and "not signed yet" in (report.problem or ""), report
    with SqliteLedger.open(path, dev_no=dev_no) as signer:  # the key at hand: signed now
        report = verify_ledger(signer)
        assert report.ok, report
        assert signer.get_meta("journal_unsigned") is None
        count = signer.conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0]
        audits = signer.conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
        assert count == audits + 7
