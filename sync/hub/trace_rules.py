"""The platform's checks of the codes a sale carries (trace-codes.md "Normalising a scan", "How
many codes a line needs", "To the platform"): pure, no database.

The terminal normalised every code before it sold it; the platform checks that what arrives is a
normalised code (`bad_trace_format`, `product_barcode_not_trace`, `bad_check_digit`), that a
line's codes match its count (`trace_count_mismatch`), that no code comes twice in one sale
(`trace_duplicate_in_sale`), that a coded item without codes could be no-code stock
(`trace_missing`), and, given who holds each code already (`Holder`), which codes are sold a
second time (`trace_duplicate`) and whether split units are covered (`trace_split_exhausted`).
`plan_sale` turns a sale's lines and the holders into the rows to store and the conflicts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "CONFLICT_HOURS",
    "FORMAT_REFUSALS",
    "REFUSALS",
    "Conflict",
    "Holder",
    "ItemRule",
    "Plan",
    "Problem",
    "SoldCode",
    "TraceLine",
    "check_format",
    "gs1_check_ok",
    "item_rules",
    "plan_sale",
]

REFUSALS = (
    "bad_trace_format",
    "product_barcode_not_trace",
    "bad_check_digit",
    "trace_count_mismatch",
    "trace_split_exhausted",
    "trace_duplicate",
    "trace_duplicate_in_sale",
    "trace_missing",
)
# a code that is not a normalised code: never stored
FORMAT_REFUSALS = ("bad_trace_format", "product_barcode_not_trace", "bad_check_digit")
# two institutions selling one code within this many hours: severity high
CONFLICT_HOURS = 72

_NMPA20 = re.compile(r"\d{20}")
_GS1 = re.compile(r"01(\d{14})21([\x21-\x7e]{1,20})")
_PRODUCT = re.compile(r"\d{8}|\d{12,14}")
_OTHER = re.compile(r"[0-9A-Za-z]{8,100}")
_TIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True, slots=True)
class ItemRule:
    """A catalogue item's trace fields (trace-codes.md "Catalogue additions")."""

    trac_required: bool = False
    pack_qty: Decimal | None = None
    unit_is_pack: bool = True
    no_code_qty: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class TraceLine:
    """A sold or returned line as the platform reads it: an upload's basket line or a 3505
    line. `qty` is the line's quantity string, `codes` its codes in scan order."""

    item: str
    qty: str
    trdn_flag: str
    codes: tuple[str, ...]
    formats: tuple[str, ...] = ()  # the upload's `trac_format`, when it gives one


@dataclass(frozen=True, slots=True)
class Holder:
    """The sale holding a code now (status `sold` or `opened`) at the platform."""

    code: str
    txn_id: str
    status: str
    remaining: int | None
    fixmedins_code: str
    dev_no: str
    sold_at: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A refusal code, the 1-based line it concerns and a sentence."""

    code: str
    line: int
    message: str

    def text(self) -> str:
        """`code: message (line n)`."""
        return f"{self.code}: {self.message} (line {self.line})"


@dataclass(frozen=True, slots=True)
class SoldCode:
    """A row to store: a code of this sale."""

    code: str
    line: int
    format: str
    gtin: str | None
    trdn_flag: str
    status: str  # sold | opened
    remaining: int | None


@dataclass(frozen=True, slots=True)
class Conflict:
    """A code sold while another sale holds it (trace-codes.md "To the platform")."""

    code: str
    first: Holder
    hours_between: int
    severity: str


@dataclass(slots=True)
class Plan:
    """What storing a sale's codes means: rows, conflicts, the problems found."""

    rows: list[SoldCode] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def flags(self) -> list[str]:
        """The acknowledgement's `flags`: each refusal code found, in the spec's order."""
        found = {p.code for p in self.problems}
        return [c for c in REFUSALS if c in found]


def gs1_check_ok(digits: str) -> bool:
    """True when the last digit is the GS1 mod-10 check digit of the others."""
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def check_format(code: str, stated: str | None = None) -> tuple[str, str | None] | str:
    """(format, gtin) of a normalised code, or the refusal code when it is not one. `stated`,
    the format the terminal sent, must agree with the code."""
    gs1 = _GS1.fullmatch(code)
    if gs1 is not None:
        if not gs1_check_ok(gs1.group(1)):
            return "bad_check_digit"
        found: tuple[str, str | None] = ("gs1", gs1.group(1))
    elif _NMPA20.fullmatch(code):
        found = ("nmpa20", None)
    elif _PRODUCT.fullmatch(code) and gs1_check_ok(code):
        return "product_barcode_not_trace"
    elif _OTHER.fullmatch(code):
        found = ("other", None)
    else:
        return "bad_trace_format"
    if stated is not None and stated != found[0]:
        return "bad_trace_format"
    return found


def item_rules(catalogue: Any) -> dict[str, ItemRule]:
    """The trace fields of a catalogue document (its JSON array), by item code; items without
    any are left out. A field of the wrong shape is read as absent."""
    rules: dict[str, ItemRule] = {}
    if not isinstance(catalogue, list):
        return rules
    for item in catalogue:
        if not isinstance(item, Mapping) or not isinstance(item.get("code"), str):
            continue
        if not any(k in item for k in ("trac_required", "pack_qty", "no_code_qty")):
            continue
        rules[item["code"]] = ItemRule(
            trac_required=item.get("trac_required") is True,
            pack_qty=_positive(item.get("pack_qty")),
            unit_is_pack=item.get("unit_is_pack") is not False,
            no_code_qty=_positive(item.get("no_code_qty")) or Decimal(0),
        )
    return rules


def plan_sale(
    lines: Sequence[TraceLine],
    rules: Mapping[str, ItemRule],
    holders: Mapping[str, Holder],
    *,
    fixmedins_code: str,
    sold_at: str,
    codes_required: bool = True,
) -> Plan:
    """The rows, conflicts and problems of a sale whose lines are `lines`, `holders` being who
    holds each of its codes at the platform now (by code); `codes_required`: the sale's date
    is past the date from which its coded items need codes."""
    plan = Plan()
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        rule = rules.get(line.item, ItemRule())
        qty = _decimal(line.qty)
        if not line.codes:
            if codes_required and rule.trac_required and rule.no_code_qty == 0:
                plan.problems.append(
                    Problem("trace_missing", number, f"{line.item} sold without codes")
                )
            continue
        good: list[tuple[str, str, str | None]] = []
        for i, code in enumerate(line.codes):
            stated = line.formats[i] if i < len(line.formats) else None
            checked = check_format(code, stated)
            if isinstance(checked, str):
                plan.problems.append(Problem(checked, number, f"{code!r} is not a trace code"))
            elif code in seen:
                plan.problems.append(
                    Problem("trace_duplicate_in_sale", number, f"{code} twice in this sale")
                )
            else:
                seen.add(code)
                good.append((code, *checked))
        if line.trdn_flag == "1":
            _plan_split(plan, number, line, rule, qty, good, holders, fixmedins_code, sold_at)
        else:
            _plan_whole(plan, number, line, rule, qty, good, holders, fixmedins_code, sold_at)
    return plan


def _plan_whole(
    plan: Plan,
    number: int,
    line: TraceLine,
    rule: ItemRule,
    qty: Decimal | None,
    good: list[tuple[str, str, str | None]],
    holders: Mapping[str, Holder],
    fixmedins_code: str,
    sold_at: str,
) -> None:
    if rule.trac_required:
        packs = _packages(qty, rule)
        if packs is None or packs != len(line.codes):
            need = "a whole number of" if packs is None else str(packs)
            plan.problems.append(
                Problem(
                    "trace_count_mismatch",
                    number,
                    f"{line.item} needs {need} codes, {len(line.codes)} came",
                )
            )
    for code, fmt, gtin in good:
        holder = holders.get(code)
        if holder is not None:
            _conflict(plan, number, code, holder, fixmedins_code, sold_at)
        plan.rows.append(SoldCode(code, number, fmt, gtin, "0", "sold", None))


def _plan_split(
    plan: Plan,
    number: int,
    line: TraceLine,
    rule: ItemRule,
    qty: Decimal | None,
    good: list[tuple[str, str, str | None]],
    holders: Mapping[str, Holder],
    fixmedins_code: str,
    sold_at: str,
) -> None:
    """Units taken from packages in order: a code new here opens a package of `pack_qty`
    units, an opened one gives what it has left; a sold or emptied one is a conflict."""
    left = qty if rule.pack_qty is not None else None
    for code, fmt, gtin in good:
        holder = holders.get(code)
        if holder is not None and (holder.status == "sold" or holder.remaining == 0):
            # flagged; its units counted as the terminal saw them: a package it opened
            _conflict(plan, number, code, holder, fixmedins_code, sold_at)
            holder = None
        remaining: int | None = None
        if left is not None and rule.pack_qty is not None:
            has = (
                Decimal(holder.remaining)
                if holder is not None and holder.remaining is not None
                else rule.pack_qty
            )
            take = min(has, left)
            left -= take
            remaining = int(has - take)
        plan.rows.append(SoldCode(code, number, fmt, gtin, "1", "opened", remaining))
    if left is not None and left > 0:
        plan.problems.append(
            Problem("trace_split_exhausted", number, f"the codes do not cover {line.qty} units")
        )


def _conflict(
    plan: Plan, number: int, code: str, holder: Holder, fixmedins_code: str, sold_at: str
) -> None:
    seconds = abs(_seconds_between(holder.sold_at, sold_at))
    differ = holder.fixmedins_code != fixmedins_code
    severity = "high" if differ and seconds <= CONFLICT_HOURS * 3600 else "normal"
    plan.conflicts.append(Conflict(code, holder, seconds // 3600, severity))
    plan.problems.append(
        Problem(
            "trace_duplicate",
            number,
            f"{code} was sold by {holder.txn_id} at {holder.sold_at}",
        )
    )


def _seconds_between(first: str, second: str) -> int:
    try:
        a, b = datetime.strptime(first, _TIME), datetime.strptime(second, _TIME)
    except ValueError:
        return 0
    return int((b - a).total_seconds())


def _packages(qty: Decimal | None, rule: ItemRule) -> int | None:
    """The line's whole packages, None when not a whole number."""
    if qty is None:
        return None
    packs = qty
    if not rule.unit_is_pack:
        if rule.pack_qty is None:
            return None
        packs = qty / rule.pack_qty
    return int(packs) if packs == packs.to_integral_value() else None


def _decimal(value: str) -> Decimal | None:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError):
        return None
    return number if number.is_finite() and number > 0 else None


def _positive(value: Any) -> Decimal | None:
    return _decimal(value) if isinstance(value, str) else None
