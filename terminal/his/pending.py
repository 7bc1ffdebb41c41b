"""The settlements deferred while offline (his-api.md "Deferred settlement"), with their age."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from terminal.checkout.service import CheckoutService
from terminal.ledger.his_desk import his_deferred

__all__ = ["pending_settlements"]


def pending_settlements(service: CheckoutService) -> list[dict[str, Any]]:
    """Pending deferrals, oldest first: the visit, its total (fen), when and how long ago."""
    now = service.local_now()
    out = []
    for row in his_deferred(service.ledger):
        at = datetime.fromisoformat(row["at"])
        out.append({**row, "age_s": int((now - at).total_seconds())})
    return out
