"""The values checkout hands its callers: a committed sale, a pre-settlement, a prepared claim, an
expected refusal (DESIGN.md "A transaction's life"), and the platform link it may ask."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from terminal.errors import CheckoutError
from terminal.risk import Refusal
from terminal.settlement import Claim, SettlementResult

__all__ = [
    "SOFT_LIMITS",
    "CheckoutRefused",
    "PlatformLink",
    "PreparedClaim",
    "Quote",
    "SaleOutcome",
]

# Refusals a supervisor may override for one sale (their approval is audited); the others (sync
# too old, hotlist too old, the terminal's total exposure, a blocked card) bound the terminal's risk
# as a whole and no one at the counter may lift them.
SOFT_LIMITS = frozenset({"offline_sale_limit", "offline_person_count", "offline_person_amount"})


class PlatformLink(Protocol):
    """Fresh person data from the platform (1101), or None when it cannot answer in time."""

    def fetch_person(self, psn_cert: str, timeout_s: float) -> Mapping[str, Any] | None: ...


class CheckoutRefused(CheckoutError):
    """An expected refusal (an offline limit, a hotlisted person): carries the `Refusal` value."""

    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal
        super().__init__(refusal.code, refusal.message)


@dataclass(frozen=True, slots=True)
class SaleOutcome:
    """A committed sale: what checkout prints and the receipt needs."""

    txn_id: str
    seq: int
    hash: str
    offline: bool
    result: dict[str, Any]
    upload_input: dict[str, Any]
    tender: dict[str, Any] | None = None  # `Tender.to_json` (None: an answer stored before)

    def line(self) -> dict[str, Any]:
        """The JSON line `medpos checkout` prints after each commit."""
        return {
            "txn_id": self.txn_id,
            "seq": self.seq,
            "hash": self.hash,
            "setlinfo": self.result["setlinfo"],
            **({"tender": self.tender} if self.tender is not None else {}),
        }


@dataclass(frozen=True, slots=True)
class PreparedClaim:
    """A claim `prepare_claim` validated: its parsed form and its own copy of the document's
    person, visit (dated) and basket lines, so that a later edit by the caller cannot make the
    stored text differ from what was settled."""

    parsed: Claim
    person: dict[str, Any]
    visit: dict[str, Any]
    basket: list[dict[str, Any]]
    seed_accumulators: Mapping[str, Any]
    source: str


@dataclass(frozen=True, slots=True)
class Quote:
    """A pre-settlement: the split the sale would get now, and the refusal it would meet."""

    result: SettlementResult | None  # None: refused before settling (a blocked card)
    offline: bool
    refusal: Refusal | None

    @property
    def overridable(self) -> bool:
        return self.refusal is not None and self.refusal.code in SOFT_LIMITS
