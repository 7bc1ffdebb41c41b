"""The hospital billing desk: the HIS API's visits, fee lines and settlements (his-api.md)."""

from __future__ import annotations

from terminal.checkout.service import CheckoutService
from terminal.his import lines, queries, settling, visits
from terminal.his.desk import Call, HisDesk
from terminal.his.refusal import HisRefused

__all__ = ["Call", "HisDesk", "HisRefused", "build_desk"]


def build_desk(service: CheckoutService) -> HisDesk:
    """The desk answering every transaction of his-api.md over one terminal."""
    handlers = {**visits.HANDLERS, **lines.HANDLERS, **settling.HANDLERS, **queries.HANDLERS}
    return HisDesk(
        service,
        handlers,
        dry=settling.DRY_RUN | queries.QUERIES,
        fresh=frozenset({"2206", "2207", "2303", "2304"}),
    )
