"""3505 trace reports of self-pay sales and their refunds (trace-codes.md "To the platform").

`sale_report` and `return_report` are pure: they build the message's `input` from what the sale
sold or the refund gave back. `self_pay_trace` and `self_pay_return` are the callbacks the
self-pay ledger calls inside the sale's or refund's own unit of work: check and write the codes,
then queue the report (a sale without codes queues none).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from terminal.checkout.tracing import basket_with_trace, plan_in_unit, trace_lines
from terminal.config import TraceConfig
from terminal.ledger import SelfPayRecord, WriteUnit
from terminal.settlement import Catalogue
from terminal.trace import TracePlan

__all__ = ["return_report", "sale_report", "self_pay_return", "self_pay_trace"]

MDTRT_SETL_TYPE_SELF_PAY = "2"


def _time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def _line(
    code: str, name: str | None, flag: str, qty: str, price: str, codes: Sequence[str]
) -> dict[str, Any]:
    return {
        "med_list_codg": code,
        "fixmedins_hilist_name": name or code,
        "trdn_flag": flag,
        "sel_retn_cnt": qty,
        "finl_trns_pric": price,
        "drugtracinfo": [{"drug_trac_codg": c} for c in codes],
    }


def sale_report(
    txn_id: str,
    at: datetime,
    operator: str | None,
    lines: Sequence[Mapping[str, Any]],
    names: Mapping[str, str],
) -> dict[str, Any] | None:
    """The 3505 `input` of a self-pay sale whose traced lines (`basket_with_trace`) are `lines`;
    None when no line carries a code."""
    out = [
        _line(
            line["code"],
            names.get(line["code"]),
            line.get("trdn_flag", "0"),
            str(line["qty"]),
            str(line["price"]),
            line["trac"],
        )
        for line in lines
        if line.get("trac")
    ]
    if not out:
        return None
    return {
        "txn_id": txn_id,
        "mdtrt_setl_type": MDTRT_SETL_TYPE_SELF_PAY,
        "sel_retn": "sale",
        "sel_retn_time": _time(at),
        "sel_retn_opter_name": operator or "",
        "lines": out,
    }


def return_report(
    txn_id: str,
    at: datetime,
    operator: str,
    sale: SelfPayRecord,
    takes: Sequence[Mapping[str, Any]],
) -> dict[str, Any] | None:
    """The 3505 `input` of the refund `txn_id` of self-pay `sale`, from what the sale took
    (`WriteUnit.trace_takes`); None when it took no code."""
    by_line: dict[int, list[Mapping[str, Any]]] = {}
    for take in takes:
        if take["code"] is not None:
            by_line.setdefault(take["line"], []).append(take)
    out = []
    for number, line in enumerate(sale.lines, 1):
        taken = by_line.get(number)
        if taken:
            flag = "1" if taken[0]["units"] is not None else "0"
            codes = [t["code"] for t in taken]
            out.append(_line(line.code, line.name, flag, line.qty, line.price, codes))
    if not out:
        return None
    return {
        "txn_id": txn_id,
        "mdtrt_setl_type": MDTRT_SETL_TYPE_SELF_PAY,
        "sel_retn": "return",
        "sel_retn_time": _time(at),
        "sel_retn_opter_name": operator,
        "lines": out,
    }


def self_pay_trace(
    catalogue: Catalogue,
    priced: Sequence[Mapping[str, Any]],
    config: TraceConfig,
    at: datetime,
    operator: str | None,
    source: str,
) -> Callable[[WriteUnit, str], None]:
    """The callback that checks and writes a self-pay sale's codes and queues its 3505 report
    (raises `TraceRefused`: the sale is then not written)."""
    lines = trace_lines(catalogue, priced, source)  # a bad shape is refused before the unit

    def trace(unit: WriteUnit, self_pay_id: str) -> None:
        plan: TracePlan = plan_in_unit(unit, lines, config, at.date(), insured=False)
        unit.record_trace(self_pay_id, plan, at)
        traced = basket_with_trace(priced, plan)
        names = {code: item.name for code, item in catalogue.items.items()}
        report = sale_report(self_pay_id, at, operator, traced, names)
        if report is not None:
            unit.queue_trace_report(self_pay_id, report, at)

    return trace


def self_pay_return(at: datetime, operator: str) -> Callable[[WriteUnit, SelfPayRecord, str], None]:
    """The callback that gives a refunded self-pay sale's codes back and queues its 3505
    report; it never refuses (no trace check blocks a refund)."""

    def returned(unit: WriteUnit, sale: SelfPayRecord, refund_id: str) -> None:
        takes = unit.trace_takes(sale.self_pay_id)
        unit.return_trace(sale.self_pay_id, refund_id, at)
        report = return_report(refund_id, at, operator, sale, takes)
        if report is not None:
            unit.queue_trace_report(refund_id, report, at)

    return returned
