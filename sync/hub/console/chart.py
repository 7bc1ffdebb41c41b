"""The console's chart: entries per day by status as stacked SVG bars, drawn on the server so
the page needs no script (the terminal's day-end chart, terminal/web/chart.py, is the model).
Pure: day totals in, rectangles out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["STATUSES", "day_bars"]

STATUSES = ("accepted", "adjusted", "rejected", "held")
_WIDTH, _HEIGHT, _GAP = 640, 160, 4


def day_bars(days: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """`{"width", "height", "bars": [{"day", "x", "w", "total", "parts": [{"status", "y",
    "h"}]}], "top"}` for `days` (each `{"day", status: count…}`), scaled to the busiest day."""
    top = max((sum(int(d.get(s, 0)) for s in STATUSES) for d in days), default=0)
    slot = _WIDTH / max(len(days), 1)
    bars = []
    for n, d in enumerate(days):
        y, parts = float(_HEIGHT), []
        for status in STATUSES:
            count = int(d.get(status, 0))
            h = _HEIGHT * count / top if top else 0.0
            y -= h
            if count:
                parts.append({"status": status, "y": round(y, 1), "h": round(h, 1), "n": count})
        bars.append(
            {
                "day": str(d["day"]),
                "x": round(n * slot + _GAP / 2, 1),
                "w": round(max(slot - _GAP, 1), 1),
                "total": sum(int(d.get(s, 0)) for s in STATUSES),
                "parts": parts,
            }
        )
    return {"width": _WIDTH, "height": _HEIGHT, "bars": bars, "top": top}
