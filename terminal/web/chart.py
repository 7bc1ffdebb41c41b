"""The day-end page's chart (docs/ui.md "Refunds, day-end, status"): the day's transactions summed
per hour, drawn as stacked bars (fund, account, cash) of SVG rectangles, so no script is needed.
Pure: rows in, numbers out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

__all__ = ["Row", "hourly_totals", "stacked_bars"]


class Row(Protocol):
    """A row read by column name (a `sqlite3.Row` from terminal/ledger/reports.py, or a dict)."""

    def __getitem__(self, key: str, /) -> Any: ...


_PARTS = ("fund", "acct", "cash")
_WIDTH, _HEIGHT, _GAP = 600, 160, 4
_WORKING_DAY = (8, 18)  # the hours always drawn, even when nothing was sold in them


def hourly_totals(rows: Iterable[Row]) -> dict[int, dict[str, int]]:
    """Fund, account and cash fen and the count of sales per hour of `settled_at`; a reversal
    adds its (negative) amounts but is not counted as a sale."""
    hours: dict[int, dict[str, int]] = {}
    for r in rows:
        hour = int(r["settled_at"][11:13])
        h = hours.setdefault(hour, {"fund": 0, "acct": 0, "cash": 0, "count": 0})
        for key in _PARTS:
            h[key] += r[key]
        h["count"] += 1 if r["kind"] == "sale" else 0
    return hours


def stacked_bars(hours: Mapping[int, Mapping[str, int]]) -> dict[str, Any]:
    """Stacked bars per hour (fund, account, cash) as SVG rectangles; no script needed."""
    if not hours:
        return {"bars": [], "max": 0}
    first, last = min(hours), max(hours)
    span = range(min(first, _WORKING_DAY[0]), max(last, _WORKING_DAY[1]) + 1)
    top = max(sum(max(h[key], 0) for key in _PARTS) for h in hours.values())
    top = max(top, 1)
    step = _WIDTH / len(span)
    empty = {"fund": 0, "acct": 0, "cash": 0, "count": 0}
    bars = []
    for i, hour in enumerate(span):
        h = hours.get(hour, empty)
        y = float(_HEIGHT)
        parts = []
        for key in _PARTS:
            size = _HEIGHT * max(h[key], 0) / top  # a refund is not drawn below zero
            y -= size
            parts.append({"key": key, "y": round(y, 1), "h": round(size, 1), "value": h[key]})
        bars.append(
            {
                "hour": hour,
                "x": round(i * step + _GAP / 2, 1),
                "w": round(step - _GAP, 1),
                "parts": parts,
                "count": h["count"],
            }
        )
    return {"bars": bars, "max": top, "width": _WIDTH, "height": _HEIGHT}
