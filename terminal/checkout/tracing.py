"""A sale's traceability codes, checked and planned inside its unit of work (trace-codes.md).

`plan_in_unit` reads the code table and the no-code stock in the unit's own snapshot, applies the
date gates (`[trace] settle_required_from`, `all_sales_from`) and the rules of `terminal.trace`,
and either raises `TraceRefused` (nothing is written: the unit rolls back) or returns the plan the
caller writes after its entry (`WriteUnit.record_trace`) with `basket_with_trace`'s lines in the
claim, so the entry's hash covers the codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from terminal.config import TraceConfig
from terminal.errors import CheckoutError, InvalidInputError
from terminal.ledger import WriteUnit
from terminal.settlement import Catalogue
from terminal.trace import (
    PlannedLine,
    TraceCode,
    TraceItem,
    TraceLine,
    TracePlan,
    TraceRefusal,
    normalise_scan,
    plan_sale,
)

__all__ = [
    "TraceRefused",
    "basket_with_trace",
    "codes_required",
    "plan_in_unit",
    "trace_claim",
    "trace_lines",
]


class TraceRefused(CheckoutError):
    """A refusal of trace-codes.md "Refusal codes": carries the `TraceRefusal` (with its line)."""

    def __init__(self, refusal: TraceRefusal) -> None:
        self.refusal = refusal
        super().__init__(refusal.code, refusal.message)


def codes_required(config: TraceConfig, day: date, *, insured: bool) -> bool:
    """Whether a `trac_required` line without codes needs no-code stock on `day` (region-local)."""
    start = config.settle_required_from if insured else config.all_sales_from
    return day >= date.fromisoformat(start)


def trace_lines(
    catalogue: Catalogue, basket: Sequence[Mapping[str, Any]], source: str = "basket"
) -> list[TraceLine]:
    """The basket's lines as the rules see them; a `trac` or `trdn_flag` of the wrong shape is an
    `InvalidInputError` naming the field."""
    out = []
    for i, line in enumerate(basket):
        path = f"basket[{i}]"
        trac = line.get("trac", [])
        if not isinstance(trac, list) or not all(isinstance(c, str) for c in trac):
            raise InvalidInputError(source, f"{path}.trac", "must be a list of scanned codes")
        flag = line.get("trdn_flag", "0")
        if flag not in ("0", "1"):
            raise InvalidInputError(source, f"{path}.trdn_flag", f'{flag!r} is not "0" or "1"')
        try:
            qty = Decimal(str(line.get("qty", "1")))
        except InvalidOperation:
            raise InvalidInputError(source, f"{path}.qty", "is not a quantity") from None
        known = catalogue.items.get(str(line.get("code")))
        item = (
            TraceItem(known.trac_required, known.pack_qty, known.unit_is_pack, known.no_code_qty)
            if known is not None
            else TraceItem()
        )
        out.append(TraceLine(i + 1, str(line.get("code")), item, qty, tuple(trac), flag))
    return out


def plan_in_unit(
    unit: WriteUnit,
    lines: Sequence[TraceLine],
    config: TraceConfig,
    day: date,
    *,
    insured: bool,
) -> TracePlan:
    """The sale's plan, read in `unit`; raises `TraceRefused` for the first refused line."""
    if not any(ln.trac or ln.item.trac_required for ln in lines):
        return TracePlan(tuple(_untouched(ln) for ln in lines))
    scanned = [code for ln in lines for code in ln.trac]
    known = unit.trace_known(_candidates(scanned, config.allow_other)) if scanned else {}
    required = {ln.item_code: ln.item.no_code_qty for ln in lines if ln.item.trac_required}
    plan = plan_sale(
        lines,
        known,
        unit.trace_stock(required),
        codes_required=codes_required(config, day, insured=insured),
        on_duplicate=config.on_duplicate,
        allow_other=config.allow_other,
    )
    if isinstance(plan, TraceRefusal):
        raise TraceRefused(plan)
    return plan


def trace_claim(
    unit: WriteUnit,
    catalogue: Catalogue,
    claim: dict[str, Any],
    config: TraceConfig,
    source: str,
) -> TracePlan:
    """Check an insurance claim's codes in `unit` and put them, normalised, into its basket
    (dated by its visit); raises `TraceRefused`."""
    lines = trace_lines(catalogue, claim["basket"], source)
    day = date.fromisoformat(claim["visit"]["date"])
    plan = plan_in_unit(unit, lines, config, day, insured=True)
    claim["basket"] = basket_with_trace(claim["basket"], plan)
    return plan


def _untouched(ln: TraceLine) -> PlannedLine:
    return PlannedLine((), (), ln.trdn_flag)


def _candidates(scanned: Sequence[str], allow_other: bool) -> list[str]:
    out = []
    for raw in scanned:
        got = normalise_scan(raw, allow_other=allow_other)
        if isinstance(got, TraceCode):
            out.append(got.code)
    return out


def basket_with_trace(basket: Sequence[Mapping[str, Any]], plan: TracePlan) -> list[dict[str, Any]]:
    """New claim lines: each line's codes as normalised, their formats and its `trdn_flag`."""
    out = []
    for line, planned in zip(basket, plan.lines, strict=True):
        new = {k: v for k, v in line.items() if k not in ("trac", "trdn_flag", "trac_format")}
        if planned.trac or planned.trdn_flag == "1":
            new["trac"] = list(planned.trac)
            new["trac_format"] = list(planned.trac_format)
            new["trdn_flag"] = planned.trdn_flag
        out.append(new)
    return out
