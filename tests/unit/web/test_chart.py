"""The day-end chart: rows summed per hour, then stacked bars (pure)."""

from __future__ import annotations

from terminal.web.chart import hourly_totals, stacked_bars


def _row(at: str, kind: str, fund: int, acct: int, cash: int) -> dict[str, object]:
    return {
        "settled_at": f"2026-03-16T{at}:00+08:00",
        "kind": kind,
        "fund": fund,
        "acct": acct,
        "cash": cash,
    }


def test_rows_are_summed_per_hour_and_only_sales_are_counted() -> None:
    rows = [
        _row("09:05", "sale", 600, 300, 100),
        _row("09:40", "sale", 100, 0, 50),
        _row("14:10", "reversal", -600, -300, -100),
    ]
    assert hourly_totals(rows) == {
        9: {"fund": 700, "acct": 300, "cash": 150, "count": 2},
        14: {"fund": -600, "acct": -300, "cash": -100, "count": 0},
    }
    assert hourly_totals([]) == {}


def test_a_day_with_nothing_sold_has_no_bars() -> None:
    assert stacked_bars({}) == {"bars": [], "max": 0}


def test_bars_cover_the_working_day_and_hours_outside_it() -> None:
    chart = stacked_bars({6: {"fund": 1, "acct": 0, "cash": 0, "count": 1}})
    assert [b["hour"] for b in chart["bars"]] == list(range(6, 19))
    chart = stacked_bars({21: {"fund": 1, "acct": 0, "cash": 0, "count": 1}})
    assert [b["hour"] for b in chart["bars"]] == list(range(8, 22))


def test_parts_stack_upwards_from_the_bottom_in_fund_account_cash_order() -> None:
    chart = stacked_bars({9: {"fund": 600, "acct": 300, "cash": 100, "count": 2}})
    assert chart["max"] == 1000 and chart["width"] == 600 and chart["height"] == 160
    nine = next(b for b in chart["bars"] if b["hour"] == 9)
    assert [(p["key"], p["y"], p["h"]) for p in nine["parts"]] == [
        ("fund", 64.0, 96.0),
        ("acct", 16.0, 48.0),
        ("cash", 0.0, 16.0),
    ]
    assert nine["count"] == 2 and nine["w"] == round(600 / 11 - 4, 1)
    empty = next(b for b in chart["bars"] if b["hour"] == 8)
    assert empty["x"] == 2.0 and all(p["h"] == 0 for p in empty["parts"])


def test_a_day_of_refunds_only_draws_nothing_below_zero() -> None:
    chart = stacked_bars({10: {"fund": -500, "acct": 0, "cash": -20, "count": 0}})
    assert chart["max"] == 1  # nothing positive: the scale does not divide by zero
    ten = next(b for b in chart["bars"] if b["hour"] == 10)
    assert [p["value"] for p in ten["parts"]] == [-500, 0, -20]
    assert all(p["h"] == 0 and p["y"] == 160.0 for p in ten["parts"])
