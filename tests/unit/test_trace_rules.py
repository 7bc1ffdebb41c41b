"""trace-codes.md "How many codes a line needs" and "Uniqueness on the terminal", as pure rules;
the catalogue's trace fields."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.errors import InvalidInputError
from terminal.settlement import parse_catalogue
from terminal.trace import (
    KnownCode,
    NoCodeStock,
    TraceItem,
    TraceLine,
    TracePlan,
    TraceRefusal,
    plan_sale,
)

DRUG = TraceItem(trac_required=True, pack_qty=Decimal(24))
BY_UNIT = TraceItem(trac_required=True, pack_qty=Decimal(10), unit_is_pack=False)
PLAIN = TraceItem()
C = [f"8{i:019d}" for i in range(1, 40)]  # nmpa20 codes


def _line(n: int, item: TraceItem, qty: str, trac: list[str], flag: str = "0") -> TraceLine:
    return TraceLine(n, f"ITEM{n}", item, Decimal(qty), tuple(trac), flag)


def _plan(lines: list[TraceLine], **kw: object) -> TracePlan | TraceRefusal:
    known = kw.pop("known", {})
    stock = kw.pop("stock", {})
    required = kw.pop("required", True)
    return plan_sale(lines, known, stock, codes_required=required, **kw)  # type: ignore[arg-type]


def _refused(got: TracePlan | TraceRefusal, code: str, line: int) -> TraceRefusal:
    assert isinstance(got, TraceRefusal), got
    assert (got.code, got.line) == (code, line)
    assert got.message.startswith(f"line {line}: ")
    return got


def test_a_whole_line_needs_exactly_its_packages_codes() -> None:
    plan = _plan([_line(1, DRUG, "2", [C[0], " " + C[1] + "\r\n"])])
    assert isinstance(plan, TracePlan)
    assert plan.lines[0].trac == (C[0], C[1]) and plan.lines[0].trac_format == ("nmpa20",) * 2
    assert [(w.code, w.status) for w in plan.codes] == [(C[0], "sold"), (C[1], "sold")]
    got = _refused(_plan([_line(1, DRUG, "3", [C[0], C[1]])]), "trace_count_mismatch", 1)
    assert "needs 3" in got.message and "2 scanned" in got.message


def test_a_line_counted_in_units_needs_whole_packages() -> None:
    assert isinstance(_plan([_line(1, BY_UNIT, "20", [C[0], C[1]])]), TracePlan)
    _refused(_plan([_line(1, BY_UNIT, "15", [C[0]])]), "trace_count_mismatch", 1)
    _refused(_plan([_line(1, DRUG, "1.5", [C[0]])]), "trace_count_mismatch", 1)


def test_the_same_code_twice_in_one_sale_is_refused_on_the_later_line() -> None:
    got = _plan([_line(1, DRUG, "1", [C[0]]), _line(2, DRUG, "2", [C[1], C[0]])])
    assert "line 1" in _refused(got, "trace_duplicate_in_sale", 2).message
    _refused(_plan([_line(1, DRUG, "2", [C[0], C[0]])]), "trace_duplicate_in_sale", 1)


def test_a_code_sold_before_is_refused_naming_the_sale_unless_warned() -> None:
    known = {C[0]: KnownCode("sold", None, "DEV-7", "2026-03-15 10:00:00")}
    got = _refused(_plan([_line(1, DRUG, "1", [C[0]])], known=known), "trace_duplicate", 1)
    assert "DEV-7" in got.message and "2026-03-15 10:00:00" in got.message
    warned = _plan([_line(1, DRUG, "1", [C[0]])], known=known, on_duplicate="warn")
    assert isinstance(warned, TracePlan)
    assert warned.lines[0].flags == ("trace_duplicate",) and warned.warnings == ((1, C[0]),)


def test_a_returned_code_sells_again() -> None:
    known = {C[0]: KnownCode("returned", None, "DEV-8", "t")}
    assert isinstance(_plan([_line(1, DRUG, "1", [C[0]])], known=known), TracePlan)


def test_split_lines_open_packages_and_take_what_is_left() -> None:
    plan = _plan([_line(1, DRUG, "30", [C[0], C[1]], "1")])
    assert isinstance(plan, TracePlan)
    assert [(w.status, w.remaining, w.units) for w in plan.codes] == [
        ("opened", Decimal(0), Decimal(24)),
        ("opened", Decimal(18), Decimal(6)),
    ]
    known = {C[1]: KnownCode("opened", Decimal(18), "DEV-1", "t")}
    again = _plan([_line(1, DRUG, "18", [C[1]], "1")], known=known)
    assert isinstance(again, TracePlan) and again.codes[0].remaining == 0
    _refused(_plan([_line(1, DRUG, "19", [C[1]], "1")], known=known), "trace_split_exhausted", 1)
    empty = {C[1]: KnownCode("opened", Decimal(0), "DEV-1", "t")}
    _refused(_plan([_line(1, DRUG, "1", [C[1]], "1")], known=empty), "trace_split_exhausted", 1)
    # an opened package offered for a whole-package line
    _refused(_plan([_line(1, DRUG, "1", [C[1]])], known=known), "trace_duplicate", 1)
    _refused(_plan([_line(1, DRUG, "5", [C[0], C[1]], "1")]), "trace_count_mismatch", 1)
    _refused(_plan([_line(1, PLAIN_REQUIRED, "5", [C[0]], "1")]), "trace_count_mismatch", 1)


PLAIN_REQUIRED = TraceItem(trac_required=True)


def test_without_codes_the_no_code_stock_pays_until_it_runs_out() -> None:
    stock = {"ITEM1": NoCodeStock(2)}
    plan = _plan([_line(1, DRUG, "2", [])], stock=stock)
    assert isinstance(plan, TracePlan) and plan.no_code[0].packages == 2
    got = _refused(_plan([_line(1, DRUG, "3", [])], stock=stock), "trace_missing", 1)
    assert "3" in got.message
    _refused(_plan([_line(1, DRUG, "1", [])]), "trace_missing", 1)
    before_the_rule = _plan([_line(1, DRUG, "3", [])], required=False)
    assert isinstance(before_the_rule, TracePlan) and before_the_rule.uncoded == 1


def test_split_lines_open_whole_packages_of_no_code_stock() -> None:
    stock = {"ITEM1": NoCodeStock(1, Decimal(4))}
    plan = _plan([_line(1, DRUG, "10", [], "1")], stock=stock)
    assert isinstance(plan, TracePlan)
    assert (plan.no_code[0].packages, plan.no_code[0].open_units) == (1, Decimal(18))
    _refused(_plan([_line(1, DRUG, "29", [], "1")], stock=stock), "trace_missing", 1)
    assert isinstance(_plan([_line(1, DRUG, "3", [], "1")], required=False), TracePlan)


def test_items_without_trac_required_keep_their_codes_unchecked() -> None:
    plan = _plan([_line(1, PLAIN, "1", ["(01)x", C[0]]), _line(2, PLAIN, "1", [])])
    assert isinstance(plan, TracePlan) and plan.codes == ()
    assert plan.lines[0].trac == ("(01)x", C[0])
    assert plan.lines[0].trac_format == ("unchecked", "nmpa20")


def test_a_malformed_code_is_refused_with_its_line() -> None:
    _refused(_plan([_line(1, PLAIN, "1", []), _line(2, DRUG, "1", ["x"])]), "bad_trace_format", 2)
    _refused(_plan([_line(1, DRUG, "1", ["6901234567892"])]), "product_barcode_not_trace", 1)


@given(st.lists(st.integers(1, 5), min_size=1, max_size=6))
def test_whole_lines_with_fresh_codes_write_one_sold_row_per_package(sizes: list[int]) -> None:
    codes = iter(C)
    lines = [
        _line(i + 1, DRUG, str(n), [next(codes) for _ in range(n)]) for i, n in enumerate(sizes)
    ]
    plan = _plan(lines)
    assert isinstance(plan, TracePlan)
    assert len(plan.codes) == sum(sizes) == len({w.code for w in plan.codes})
    assert all(w.status == "sold" for w in plan.codes)


@given(st.integers(1, 72), st.integers(0, 23))
def test_split_units_taken_always_equal_the_quantity(qty: int, used: int) -> None:
    known = {C[0]: KnownCode("opened", Decimal(24 - used), "D-1", "t")} if used else {}
    plan = _plan([_line(1, DRUG, str(qty), C[:4], "1")], known=known)
    if isinstance(plan, TraceRefusal):
        assert plan.code in ("trace_count_mismatch", "trace_split_exhausted")
        return
    assert sum(w.units or 0 for w in plan.codes) == qty
    assert all(w.remaining is not None and w.remaining >= 0 for w in plan.codes)


# -- the catalogue's trace fields --------------------------------------------------------------


def _item(**extra: object) -> list[dict[str, object]]:
    return [{"code": "X1", "name": "x", "category": "A", **extra}]


def test_the_catalogue_reads_the_trace_fields() -> None:
    cat = parse_catalogue(
        _item(trac_required=True, pack_qty="24", unit_is_pack=False, no_code_qty="12")
    )
    item = cat.items["X1"]
    assert (item.trac_required, item.pack_qty, item.unit_is_pack, item.no_code_qty) == (
        True,
        Decimal(24),
        False,
        12,
    )
    plain = parse_catalogue(_item()).items["X1"]
    assert (plain.trac_required, plain.pack_qty, plain.unit_is_pack, plain.no_code_qty) == (
        False,
        None,
        True,
        0,
    )


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"trac_required": "yes"}, "trac_required"),
        ({"unit_is_pack": 1}, "unit_is_pack"),
        ({"pack_qty": "0"}, "pack_qty"),
        ({"unit_is_pack": False}, "pack_qty"),
        ({"no_code_qty": "1.5"}, "no_code_qty"),
        ({"no_code_qty": 3}, "no_code_qty"),
    ],
)
def test_bad_trace_fields_are_named(extra: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        parse_catalogue(_item(**extra))
    assert err.value.path == f"[0].{field}"
