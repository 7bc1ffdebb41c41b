"""The platform's checks of a sale's codes (trace-codes.md), pure."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from sync.hub.trace_rules import (
    Holder,
    ItemRule,
    TraceLine,
    check_format,
    gs1_check_ok,
    item_rules,
    plan_sale,
)

NMPA = "81234567890123456789"
GS1 = "0106901234567892" + "21ABC123"  # GTIN 06901234567892 (check digit 2)
PACK = ItemRule(trac_required=True, pack_qty=Decimal(10), unit_is_pack=True)
RULES = {"D1": PACK, "S1": ItemRule(trac_required=True, pack_qty=Decimal(10), unit_is_pack=False)}


def holder(
    code: str, status: str = "sold", remaining: int | None = None, inst: str = "P2"
) -> Holder:
    return Holder(code, "DEV2-1", status, remaining, inst, "DEV2", "2026-03-01 10:00:00")


def plan(
    *lines: TraceLine, holders: dict[str, Holder] | None = None, inst: str = "P1"
) -> list[str]:
    return plan_sale(
        lines, RULES, holders or {}, fixmedins_code=inst, sold_at="2026-03-02 09:00:00"
    ).flags()


def test_each_normalised_format_is_recognised_and_others_refused_by_their_code() -> None:
    assert check_format(NMPA) == ("nmpa20", None)
    assert check_format(GS1) == ("gs1", "06901234567892")
    assert check_format("ABCD1234") == ("other", None)
    assert check_format("0106901234567893" + "21X") == "bad_check_digit"
    assert check_format("6901234567892") == "product_barcode_not_trace"
    assert check_format("no spaces allowed") == "bad_trace_format"
    assert check_format(NMPA, "gs1") == "bad_trace_format"  # the format sent must agree


@given(st.text(alphabet="0123456789", min_size=7, max_size=13))
def test_the_gs1_check_digit_appended_always_checks(body: str) -> None:
    digits = body + "0"
    fixed = next(digits[:-1] + d for d in "0123456789" if gs1_check_ok(digits[:-1] + d))
    assert gs1_check_ok(fixed)
    assert sum(gs1_check_ok(fixed[:-1] + d) for d in "0123456789") == 1


def test_a_code_held_by_another_sale_is_a_conflict_high_across_institutions_within_72h() -> None:
    found = plan_sale(
        [TraceLine("D1", "1", "0", (NMPA,))],
        RULES,
        {NMPA: holder(NMPA)},
        fixmedins_code="P1",
        sold_at="2026-03-02 09:00:00",
    )
    assert found.flags() == ["trace_duplicate"]
    [conflict] = found.conflicts
    assert (conflict.hours_between, conflict.severity) == (23, "high")
    assert [r.status for r in found.rows] == ["sold"]  # stored all the same
    same_inst = plan_sale(
        [TraceLine("D1", "1", "0", (NMPA,))],
        RULES,
        {NMPA: holder(NMPA, inst="P1")},
        fixmedins_code="P1",
        sold_at="2026-03-02 09:00:00",
    )
    assert same_inst.conflicts[0].severity == "normal"


def test_counts_duplicates_in_a_sale_and_missing_codes_are_flagged_with_their_line() -> None:
    assert plan(TraceLine("D1", "2", "0", (NMPA,))) == ["trace_count_mismatch"]
    assert plan(TraceLine("S1", "15", "0", (NMPA,))) == ["trace_count_mismatch"]  # 1.5 packs
    assert plan(TraceLine("S1", "20", "0", (NMPA, GS1))) == []
    dup = plan_sale(
        [TraceLine("D1", "1", "0", (NMPA,)), TraceLine("D1", "1", "0", (NMPA,))],
        RULES,
        {},
        fixmedins_code="P1",
        sold_at="2026-03-02 09:00:00",
    )
    assert dup.flags() == ["trace_duplicate_in_sale"]
    assert [p.line for p in dup.problems] == [2]
    assert [r.code for r in dup.rows] == [NMPA]  # stored once
    assert plan(TraceLine("D1", "1", "0", ())) == ["trace_missing"]
    stocked = {"D1": ItemRule(trac_required=True, no_code_qty=Decimal(5))}
    assert (
        plan_sale(
            [TraceLine("D1", "1", "0", ())], stocked, {}, fixmedins_code="P", sold_at="x"
        ).flags()
        == []
    )
    assert plan(TraceLine("D1", "1", "0", ("6901234567892",))) == ["product_barcode_not_trace"]


def test_split_units_come_from_opened_packages_without_conflict_until_one_is_empty() -> None:
    opened = {NMPA: holder(NMPA, "opened", remaining=4)}
    found = plan_sale(
        [TraceLine("S1", "3", "1", (NMPA,))],
        RULES,
        opened,
        fixmedins_code="P1",
        sold_at="2026-03-02 09:00:00",
    )
    assert found.flags() == [] and found.rows[0].remaining == 1
    assert plan(TraceLine("S1", "5", "1", (NMPA,)), holders=opened) == ["trace_split_exhausted"]
    assert plan(TraceLine("S1", "12", "1", (NMPA, GS1)), holders=opened) == []  # 4 + 10
    empty = {NMPA: holder(NMPA, "opened", remaining=0)}
    assert plan(TraceLine("S1", "1", "1", (NMPA,)), holders=empty) == ["trace_duplicate"]
    # an opened package offered for a whole-package line, a sold one for units: duplicates
    assert plan(TraceLine("D1", "1", "0", (NMPA,)), holders=opened) == ["trace_duplicate"]
    assert plan(TraceLine("S1", "1", "1", (NMPA,)), holders={NMPA: holder(NMPA)}) == [
        "trace_duplicate"
    ]


def test_item_rules_read_the_catalogue_trace_fields() -> None:
    rules = item_rules(
        [
            {"code": "A", "trac_required": True, "pack_qty": "24", "unit_is_pack": False},
            {"code": "B", "name": "no trace fields"},
            "junk",
        ]
    )
    assert rules == {"A": ItemRule(trac_required=True, pack_qty=Decimal(24), unit_is_pack=False)}
