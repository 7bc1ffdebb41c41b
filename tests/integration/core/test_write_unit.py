"""`ledger.write()`: a unit commits only when it calls `commit()`, and never after an error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from terminal.checkout.service import CheckoutService

AT = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)


def _audit_count(service: CheckoutService) -> int:
    return len(service.ledger.audit_log(limit=10_000))


def test_a_unit_without_commit_leaves_nothing_behind(service: CheckoutService) -> None:
    ledger = service.ledger
    audits = _audit_count(service)
    with ledger.write() as unit:
        unit.set_meta("unit_test", "written")
        unit.audit("unit_test", None, {"n": 1}, AT)
        assert ledger.get_meta("unit_test") == "written"  # visible inside the unit
    assert ledger.get_meta("unit_test") is None
    assert _audit_count(service) == audits
    assert not ledger.conn.in_transaction


def test_a_unit_that_commits_keeps_its_writes(service: CheckoutService) -> None:
    ledger = service.ledger
    with ledger.write() as unit:
        unit.set_meta("unit_test", "written")
        unit.commit()
    assert ledger.get_meta("unit_test") == "written"


def test_an_error_after_commit_was_called_still_rolls_back(service: CheckoutService) -> None:
    ledger = service.ledger
    with pytest.raises(RuntimeError), ledger.write() as unit:
        unit.set_meta("unit_test", "written")
        unit.commit()
        raise RuntimeError("after the commit mark")
    assert ledger.get_meta("unit_test") is None
    assert not ledger.conn.in_transaction


def test_a_pre_settlement_writes_nothing(
    service: CheckoutService, claim: dict[str, object]
) -> None:
    """The quote settles in a unit that is never committed: no entry, no audit record."""
    from terminal.identity.model import CERT_ID_NUMBER, Identity

    row = service.ledger.query("SELECT psn_cert, name FROM persons ORDER BY psn_cert LIMIT 1")[0]
    who = Identity(row["psn_cert"], row["name"], CERT_ID_NUMBER, row["psn_cert"])
    head = service.ledger.head()
    audits = _audit_count(service)
    quote = service.quote(who, [{"barcode": "6910100000012", "qty": "1"}])
    assert quote.result is not None and quote.refusal is None
    assert service.ledger.head() == head
    assert _audit_count(service) == audits
    assert not service.ledger.conn.in_transaction
