"""Drug traceability codes (trace-codes.md): the pure rules a sale is checked by.

`normalise_scan` turns a scan into a code; `plan_sale` decides what a sale needs and writes.
The ledger stores the result in the sale's unit of work; checkout applies the date gates.
"""

from __future__ import annotations

from terminal.trace.normalise import (
    FORMATS,
    REFUSAL_EXIT,
    TraceCode,
    TraceRefusal,
    gs1_check_ok,
    normalise_scan,
)
from terminal.trace.rules import (
    CodeWrite,
    KnownCode,
    NoCodeStock,
    NoCodeTake,
    PlannedLine,
    TraceItem,
    TraceLine,
    TracePlan,
    plan_sale,
)

__all__ = [
    "FORMATS",
    "REFUSAL_EXIT",
    "CodeWrite",
    "KnownCode",
    "NoCodeStock",
    "NoCodeTake",
    "PlannedLine",
    "TraceCode",
    "TraceItem",
    "TraceLine",
    "TracePlan",
    "TraceRefusal",
    "gs1_check_ok",
    "normalise_scan",
    "plan_sale",
]
