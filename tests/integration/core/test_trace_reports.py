"""Self-pay sales with traceability codes (trace-codes.md): the codes written in the sale's own
unit of work, the 3505 trace report queued with it (its exact input), the refund's return report,
and what the drain does with the platform's answers (over `httpx.MockTransport`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sync.client.http import HttpPlatform
from terminal.checkout.selfpay import refund_self_pay, sell_self_pay
from terminal.checkout.service import CheckoutService
from terminal.checkout.syncing import SyncService, sync_status
from terminal.checkout.tracing import TraceRefused
from terminal.ledger import day_report, trace_report_state
from tests.conftest import HIGH_LIMITS
from tests.integration.core.conftest import SetClock

DRUG = {
    "code": "XJ01DB0006",
    "qty": "2",
    "trac": ["81000000000000000001", "(01)06901234567892(21)S9"],
}


def _sell(service: CheckoutService, basket: list[dict[str, Any]], basket_id: str) -> Any:
    return sell_self_pay(
        service,
        basket,
        basket_id=basket_id,
        payment_method="cash",
        reason="requested",
        operator="op1",
    )


def test_a_self_pay_sale_queues_its_3505_report_and_its_refund_a_return(
    service: CheckoutService,
) -> None:
    sale = _sell(service, [dict(DRUG), {"code": "XA12AX0219", "qty": "1"}], "b1")
    report = trace_report_state(service.ledger, sale.self_pay_id)
    assert report is not None and report["state"] == "pending"
    assert report["input"] == {
        "txn_id": sale.self_pay_id,
        "mdtrt_setl_type": "2",
        "sel_retn": "sale",
        "sel_retn_time": "2026-03-16 10:00:00",
        "sel_retn_opter_name": "op1",
        "lines": [
            {
                "med_list_codg": "XJ01DB0006",
                "fixmedins_hilist_name": "头孢氨苄胶囊 0.125g*36粒",
                "trdn_flag": "0",
                "sel_retn_cnt": "2",
                "finl_trns_pric": "8.70",
                "drugtracinfo": [
                    {"drug_trac_codg": "81000000000000000001"},
                    {"drug_trac_codg": "010690123456789221S9"},
                ],
            }
        ],
    }
    with pytest.raises(TraceRefused) as err:  # sold: the same code again is refused offline
        _sell(service, [{**DRUG, "qty": "1", "trac": DRUG["trac"][:1]}], "b2")
    assert (err.value.code, err.value.refusal.line) == ("trace_duplicate", 1)
    refund = refund_self_pay(service, sale.self_pay_id, reason="back", operator="sup")
    back = trace_report_state(service.ledger, refund.self_pay_id)
    assert back is not None and back["input"]["sel_retn"] == "return"
    assert back["input"]["lines"][0]["drugtracinfo"] == report["input"]["lines"][0]["drugtracinfo"]
    _sell(service, [{**DRUG, "qty": "1", "trac": DRUG["trac"][:1]}], "b3")  # returned: sells


def test_the_drain_sends_reports_and_keeps_each_answer(
    service: CheckoutService, clock: SetClock
) -> None:
    ids = [
        _sell(service, [{**DRUG, "qty": "1", "trac": [f"8{i:019d}"]}], f"d{i}").self_pay_id
        for i in range(3)
    ]
    sent: list[list[dict[str, Any]]] = []

    def platform(request: httpx.Request) -> httpx.Response:
        messages = json.loads(request.content)["messages"]
        sent.append(messages)
        if request.url.path != "/fsi/api/batch":
            return httpx.Response(404)
        results = []
        for m in messages:
            if m["infno"] != "3505":
                results.append({"infcode": -1, "err_msg": "not expected"})
            elif m["input"]["txn_id"] == ids[1]:
                results.append(
                    {"infcode": 0, "output": {"result": {"retRslt": "0", "msgRslt": "bad code"}}}
                )
            else:
                results.append(
                    {"infcode": 0, "output": {"result": {"retRslt": "1", "msgRslt": "ok"}}}
                )
        return httpx.Response(200, json={"results": results})

    with httpx.Client(
        base_url="http://platform.test", transport=httpx.MockTransport(platform)
    ) as client:
        sync = SyncService(service.ledger, service.config, clock, HttpPlatform(client))
        report = sync.drain()
    assert report.trace_reports == {"done": 2, "parked": 1}
    assert [m["input"]["txn_id"] for m in sent[-1]] == ids  # in the order queued
    states = {i: trace_report_state(service.ledger, i) for i in ids}
    assert [s["state"] if s else None for s in states.values()] == ["done", "parked", "done"]
    parked = states[ids[1]]
    assert parked is not None and parked["last_error"] == "bad code"
    # shown to the operator, and put back in the queue by `medpos sync release` after a fix
    assert sync_status(service)["parked_trace_reports"] == [
        {"txn_id": ids[1], "last_error": "bad code", "attempts": 1}
    ]
    with service.ledger.write() as unit:
        assert unit.release_trace_reports("no-such-sale") == 0
        assert unit.release_trace_reports() == 1
        unit.commit()
    assert sync_status(service)["parked_trace_reports"] == []
    fixed = {"results": [{"infcode": 0, "output": {"result": {"retRslt": "1", "msgRslt": "ok"}}}]}
    with httpx.Client(
        base_url="http://platform.test",
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=fixed)),
    ) as client:
        again = SyncService(service.ledger, service.config, clock, HttpPlatform(client)).drain()
    assert again.trace_reports == {"done": 1}
    done = trace_report_state(service.ledger, ids[1])
    assert done is not None and (done["state"], done["attempts"]) == ("done", 2)


def test_an_unreachable_platform_leaves_the_reports_queued(
    service: CheckoutService, clock: SetClock
) -> None:
    sale = _sell(service, [dict(DRUG)], "u1")

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with httpx.Client(
        base_url="http://platform.test", transport=httpx.MockTransport(down)
    ) as client:
        SyncService(service.ledger, service.config, clock, HttpPlatform(client)).drain()
    state = trace_report_state(service.ledger, sale.self_pay_id)
    assert state is not None and (state["state"], state["attempts"]) == ("pending", 1)


def test_before_the_rule_a_self_pay_sale_without_codes_counts_as_uncoded(
    open_service: Callable[..., CheckoutService], clock: SetClock
) -> None:
    service = open_service(risk=HIGH_LIMITS, trace={"all_sales_from": "2026-12-01"})
    sale = _sell(service, [{"code": DRUG["code"], "qty": "1"}], "n1")
    assert trace_report_state(service.ledger, sale.self_pay_id) is None  # no code: no report
    report = day_report(service.ledger, clock.now().astimezone(service.config.tz).date())
    assert report["uncoded_self_pay"] == 1
