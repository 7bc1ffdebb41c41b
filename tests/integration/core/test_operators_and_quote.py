"""Operators (PINs, roles, audit) and the pre-settlement's dry run, on a real terminal ledger."""

from __future__ import annotations

import re
from typing import Any

import pytest

from terminal.checkout.operators import (
    add_operator,
    check_pin,
    list_operators,
    seed_demo_operators,
)
from terminal.checkout.service import CheckoutRefused, CheckoutService
from terminal.errors import CheckoutError
from terminal.identity.model import CERT_ID_NUMBER, Identity
from terminal.settlement.money import format_fen


def test_pins_are_hashed_roles_ranked_and_changes_audited(service: CheckoutService) -> None:
    seed_demo_operators(service)
    seed_demo_operators(service)  # once only
    assert [(o.id, o.role) for o in list_operators(service)] == [
        ("1001", "cashier"),
        ("2001", "supervisor"),
        ("9001", "admin"),
    ]
    raw = service.ledger.get_meta("operator/2001") or ""
    assert raw.count("scrypt$") == 1
    # the PIN is nowhere but inside the salted hash (whose hex digits may spell anything)
    assert "2468" not in re.sub(r"scrypt\$[0-9a-f]+\$[0-9a-f]+", "", raw)
    assert check_pin(service, "2001", "2468", "supervisor").name == "李强"
    assert check_pin(service, "9001", "9999", "supervisor").role == "admin"  # above is enough
    with pytest.raises(CheckoutError) as wrong:
        check_pin(service, "2001", "2469")
    assert wrong.value.code == "bad_pin"
    with pytest.raises(CheckoutError) as nobody:
        check_pin(service, "7777", "2468")
    assert nobody.value.code == "bad_pin" and str(nobody.value) == str(wrong.value)
    with pytest.raises(CheckoutError) as low:
        check_pin(service, "1001", "1234", "supervisor")
    assert low.value.code == "not_allowed"
    for bad in (
        ("", "cashier", "1234"),
        ("x y", "cashier", "1234"),
        ("5", "boss", "1234"),
        ("5", "cashier", "12a4"),
    ):
        with pytest.raises(CheckoutError):
            add_operator(service, bad[0], "n", bad[1], bad[2], actor="9001")
    kinds = [e["kind"] for e in service.ledger.audit_log(50)]
    assert kinds.count("config") >= 3


def _first_person(service: CheckoutService) -> Identity:
    row = service.ledger.query("SELECT psn_cert, name FROM persons ORDER BY psn_cert LIMIT 1")[0]
    return Identity(row["psn_cert"], row["name"], CERT_ID_NUMBER, row["psn_cert"])


def test_quote_writes_nothing_and_matches_the_sale(service: CheckoutService) -> None:
    who = _first_person(service)
    basket: list[dict[str, Any]] = [{"barcode": "6910100000012", "qty": "2"}]
    head = service.ledger.head()
    quote = service.quote(who, basket)
    assert service.ledger.head() == head and quote.refusal is None and quote.offline
    assert quote.result is not None
    sale = service.sell(who, basket, operator="1001", payment_method="cash")
    assert sale.result["setlinfo"]["fund_pay_sumamt"] == format_fen(quote.result.fund_pay_sumamt)


def test_a_soft_limit_is_overridden_only_with_a_supervisor(
    open_service: Any,
) -> None:
    service = open_service(risk={"offline_max_fund_per_sale": "0.01"})
    who = _first_person(service)
    basket = [{"barcode": "6910100000012", "qty": "1"}]
    quote = service.quote(who, basket)
    assert quote.refusal is not None and quote.refusal.code == "offline_sale_limit"
    assert quote.overridable
    with pytest.raises(CheckoutRefused):
        service.sell(who, basket, operator="1001")
    sale = service.sell(who, basket, operator="1001", approved_by="2001")
    assert sale.seq == service.ledger.head()[0]
    overrides = [e for e in service.ledger.audit_log(50) if e["kind"] == "override"]
    assert len(overrides) == 1 and overrides[0]["actor"] == "2001"
