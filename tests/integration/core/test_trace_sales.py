"""Traceability codes through the real commit path on a database file (trace-codes.md): codes
written in the sale's unit of work, duplicates refused offline, refunds returning codes, no-code
stock, the date gates, the other terminals' codes, and the upload's basket lines."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from terminal.checkout.service import CheckoutService
from terminal.checkout.tracing import TraceRefused
from terminal.ledger import verify_ledger
from tests.conftest import HIGH_LIMITS

DRUG = "XJ01DB0006"  # 头孢氨苄胶囊 0.125g*36粒: trac_required, pack_qty 36, no no-code stock
CODES = [f"8{i:019d}" for i in range(1, 10)]
GS = "\x1d"


def _with(claim: dict[str, Any], *lines: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(claim)
    out["basket"] = [*out["basket"], *lines]
    return out


def _drug(qty: str, trac: list[str], flag: str | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {"code": DRUG, "qty": qty, "price": "8.70", "trac": trac}
    if flag is not None:
        line["trdn_flag"] = flag
    return line


def _codes(service: CheckoutService) -> dict[str, tuple[Any, ...]]:
    rows = service.ledger.query("SELECT code, status, remaining, txn_id FROM trace_codes")
    return {r[0]: tuple(r[1:]) for r in rows}


def _refusal(service: CheckoutService, claim: dict[str, Any]) -> TraceRefused:
    head = service.ledger.query("SELECT COUNT(*) FROM txns")[0][0]
    with pytest.raises(TraceRefused) as err:
        service.sell_claim(claim)
    assert service.ledger.query("SELECT COUNT(*) FROM txns")[0][0] == head  # nothing written
    return err.value


def test_codes_are_sold_once_returned_by_a_refund_and_uploaded_with_the_sale(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    gs1 = f"]d2010690123456789217281231{GS}21SER1"  # GTIN 06901234567892, serial SER1
    sale = service.sell_claim(_with(claim, _drug("2", [" " + CODES[0] + "\r\n", gs1])))
    line = sale.upload_input["claim"]["basket"][-1]
    assert line["trac"] == [CODES[0], "010690123456789221SER1"]
    assert (line["trac_format"], line["trdn_flag"]) == (["nmpa20", "gs1"], "0")
    assert "trac" not in sale.upload_input["claim"]["basket"][0]  # a line without codes
    assert service.ledger.upload_input(sale.txn_id) == sale.upload_input  # rebuilt from rows
    assert verify_ledger(service.ledger).ok
    assert _codes(service)[CODES[0]] == ("sold", None, sale.txn_id)

    again = _refusal(service, _with(claim, _drug("1", [CODES[0]])))
    assert (again.code, again.refusal.line) == ("trace_duplicate", 5)
    assert sale.txn_id in str(again)

    refund = service.refund(sale.txn_id, reason="wrong drug", operator="sup")
    assert _codes(service)[CODES[0]] == ("returned", None, refund.txn_id)
    resold = service.sell_claim(_with(claim, _drug("1", [CODES[0]])))
    assert _codes(service)[CODES[0]] == ("sold", None, resold.txn_id)


def test_split_sales_take_units_and_a_refund_gives_them_back(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    first = service.sell_claim(_with(claim, _drug("34", [CODES[1]], "1")))
    assert _codes(service)[CODES[1]] == ("opened", "2", first.txn_id)
    assert first.upload_input["claim"]["basket"][-1]["trdn_flag"] == "1"
    second = service.sell_claim(_with(claim, _drug("2", [CODES[1]], "1")))  # not a duplicate
    assert _codes(service)[CODES[1]][:2] == ("opened", "0")
    gone = _refusal(service, _with(claim, _drug("1", [CODES[1]], "1")))
    assert gone.code == "trace_split_exhausted"
    whole = _refusal(service, _with(claim, _drug("1", [CODES[1]])))
    assert whole.code == "trace_duplicate"
    service.refund(second.txn_id, reason="returned", operator="sup")
    assert _codes(service)[CODES[1]][:2] == ("opened", "2")


def test_lines_without_codes_need_no_code_stock(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    missing = _refusal(service, _with(claim, _drug("1", [])))
    assert (missing.code, missing.refusal.line) == ("trace_missing", 5)
    service.sell_claim(claim)  # the demo claim's drugs keep a no-code stock
    taken = {r[0]: r[1] for r in service.ledger.query("SELECT item_code, taken FROM trace_nocode")}
    assert taken["XC10AA0055"] == 2 and taken["XM01AH0041"] == 1


def test_before_the_rule_a_line_without_codes_sells(
    open_service: Callable[..., CheckoutService], claim: dict[str, Any]
) -> None:
    service = open_service(risk=HIGH_LIMITS, trace={"settle_required_from": "2026-12-01"})
    service.sell_claim(_with(claim, _drug("1", [])))
    assert service.ledger.query("SELECT COUNT(*) FROM trace_nocode")[0][0] == 0


def test_codes_other_terminals_sold_count_as_sold(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    with service.ledger.write() as unit:
        unit.apply_trace_refdata(
            {"codes": {"added": [{"code": CODES[2], "status": "sold"}], "removed": []}}
        )
        unit.commit()
    assert _refusal(service, _with(claim, _drug("1", [CODES[2]]))).code == "trace_duplicate"
    with service.ledger.write() as unit:
        unit.apply_trace_refdata({"codes": {"added": [], "removed": [CODES[2]]}})
        unit.commit()
    service.sell_claim(_with(claim, _drug("1", [CODES[2]])))


def test_warn_sells_a_duplicate_and_marks_its_line(
    open_service: Callable[..., CheckoutService], claim: dict[str, Any]
) -> None:
    service = open_service(risk=HIGH_LIMITS, trace={"on_duplicate": "warn"})
    service.sell_claim(_with(claim, _drug("1", [CODES[3]])))
    second = service.sell_claim(_with(claim, _drug("1", [CODES[3]])))
    marks = service.ledger.query(
        "SELECT line_no, duplicate FROM trace_takes WHERE txn_id = ? AND code = ?",
        (second.txn_id, CODES[3]),
    )
    assert [tuple(r) for r in marks] == [(4, 1)]  # line 5, 0-based as in txn_lines


def test_signed_trace_refdata_is_taken_as_a_whole_set_then_as_deltas(
    service: CheckoutService, claim: dict[str, Any]
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from sync.protocol.refdata import sign_refdata
    from terminal.checkout.refdata import RefdataRefused, accept_refdata

    root = ed25519.Ed25519PrivateKey.generate()
    now = service.local_now()

    def accept(version: int, base: int | None, added: list[str], removed: list[str]) -> str:
        body = {
            "codes": {"added": [{"code": c, "status": "sold"} for c in added], "removed": removed}
        }
        obj = {
            "kind": "trace",
            "version": version,
            "base_version": base,
            "issued_at": 1,
            "body": body,
        }
        return accept_refdata(
            service.ledger, sign_refdata(obj, root), root.public_key(), now
        ).outcome

    assert accept(1, None, [CODES[4], CODES[5]], []) == "stored"
    assert accept(2, 1, [CODES[6]], [CODES[4]]) == "stored"
    assert accept(2, 1, [], []) == "confirmed"
    with pytest.raises(RefdataRefused):
        accept(4, 3, [], [])  # a delta from a version not held
    held = {r[0] for r in service.ledger.query("SELECT code FROM trace_others")}
    assert held == {CODES[5], CODES[6]}
    assert _refusal(service, _with(claim, _drug("1", [CODES[5]]))).code == "trace_duplicate"
    service.sell_claim(_with(claim, _drug("1", [CODES[4]])))  # removed: no longer sold elsewhere
