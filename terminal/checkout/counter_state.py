"""What the counter shows: the customer, the basket, the pre-settlement, the problem that stops the
sale and the last sale made (`State`), and which problems a self-pay sale gets round.

Values and pure rules over them (who the customer is, whether a basket may be confirmed, why it
may be sold as self-pay); `terminal/checkout/counter.py` changes them under the counter's lock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

from terminal.checkout.basket import Line, mask_cert, needs_price
from terminal.checkout.selfpay import PAYMENT_METHODS
from terminal.checkout.service import Quote
from terminal.errors import CheckoutError
from terminal.identity.model import Identity

__all__ = [
    "RECOVERABLE",
    "SELF_PAY_PROBLEMS",
    "UNKNOWN_PERSON",
    "Person",
    "Sale",
    "SelfPaid",
    "State",
    "check_confirmable",
    "check_total_checked",
    "person_of",
    "self_pay_reason",
]


@dataclass
class Person:
    identity: Identity
    name: str
    masked: str
    insutype: str
    region: str
    how: str  # "card", "ecard", "id"
    checked: str  # what was checked, offline, before it was accepted
    by_camera: bool = False  # the camera saw the code (nobody scanned it on purpose)
    card_serial: int = 0  # how == "card": the insertion (`State.card_serial`) that identified them


@dataclass
class Sale:
    kind: ClassVar[str] = "insurance"
    txn_id: str
    seq: int
    hash: str
    basket_id: str
    offline: bool
    setlinfo: dict[str, Any]
    printed: str = ""
    print_error: str = ""
    tender: dict[str, Any] | None = None  # `Tender.to_json`: the split, cash given, change

    @property
    def receipt_id(self) -> str:
        return self.txn_id


@dataclass
class SelfPaid:
    """A committed self-pay sale (no insurance)."""

    kind: ClassVar[str] = "self_pay"
    self_pay_id: str
    basket_id: str
    total: int
    payment_method: str
    printed: str = ""
    print_error: str = ""
    tender: dict[str, Any] | None = None  # `Tender.to_json`: the split, cash given, change

    @property
    def receipt_id(self) -> str:
        return self.self_pay_id


@dataclass
class State:
    basket_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    person: Person | None = None
    lines: list[Line] = field(default_factory=list)
    med_type: str = "41"
    quote: Quote | None = None
    problem: tuple[str, str] | None = None  # (code, message) of what stops the sale now
    notice: str = ""
    choices: list[dict[str, Any]] = field(default_factory=list)  # search results to pick from
    last_line: int | None = None  # the line last scanned or merged: what `*N` changes
    trace_line: int | None = None  # the drug line the scan field gives codes to (trace-codes.md)
    trace_missing: list[tuple[int, int, int]] = field(default_factory=list)  # (line, need, have)
    card: str = "none"  # the user-card slot: "none", "present", "reading", "read", "error"
    card_serial: int = 0  # insertions seen so far: which card is in the reader now
    basket_version: int = 0  # moves with every new pre-settlement: what a confirm was shown
    last_sale: Sale | SelfPaid | None = None

    def card_is_customer(self) -> bool:
        """True when the customer was identified by the card that is in the reader now."""
        person = self.person
        return (
            person is not None
            and person.how == "card"
            and self.card == "read"
            and person.card_serial == self.card_serial
        )


def person_of(
    identity: Identity,
    cached: dict[str, Any] | None,
    how: str,
    checked: str,
    *,
    by_camera: bool = False,
) -> Person:
    """The customer as the counter shows them: what the card or code says, completed from the
    terminal's person list (`cached`, None when the person is not in it)."""
    person = (cached or {}).get("person", {})
    return Person(
        identity=identity,
        name=identity.name or (cached or {}).get("name") or "",
        masked=mask_cert(identity.psn_cert),
        insutype=identity.insutype or person.get("insutype", ""),
        region=identity.insuplc_admdvs or person.get("insuplc_admdvs", ""),
        how=how,
        checked=checked,
        by_camera=by_camera,
    )


UNKNOWN_PERSON = (
    "unknown_person",
    "this person is not in the terminal's person list, so insurance cannot be settled offline: "
    "sync with the platform and try again, or sell the basket as self-pay (no insurance)",
)


def check_confirmable(st: State, payment_method: str) -> Person:
    """The customer of a basket ready to be sold on insurance; a refusal saying what is missing."""
    if st.person is None:
        raise CheckoutError("no_person", "identify the customer first: card or e-card")
    if st.person.how == "card" and not st.card_is_customer():
        raise CheckoutError(
            "card_changed", "the card in the reader is not the customer's: read the card again"
        )
    if not st.lines:
        raise CheckoutError("empty_basket", "scan at least one item")
    if payment_method not in PAYMENT_METHODS:
        raise CheckoutError("bad_payment", "choose how the cash part is paid")
    if needs_price(st.lines):
        raise CheckoutError("price_needed", "enter the price of each self-pay item")
    return st.person


def check_total_checked(st: State, confirm_above: int, checked: str) -> None:
    """A total above `confirm_above` (fen, `[web] confirm_above`) is confirmed only once the
    cashier ticked "total checked with the customer" for that very total."""
    result = st.quote.result if st.quote is not None else None
    if result is None or result.medfee_sumamt <= confirm_above:
        return
    if checked != str(result.medfee_sumamt):
        raise CheckoutError(
            "total_not_checked", "a large total: check it with the customer and tick the box first"
        )


def self_pay_reason(st: State) -> str | None:
    """Why insurance cannot settle this basket, when the customer may pay it all instead
    (a problem or refusal code, or `not_identified`); None otherwise."""
    if not st.lines or needs_price(st.lines):
        return None
    if st.person is None:
        return "not_identified"
    if st.problem is not None:
        return st.problem[0] if st.problem[0] in SELF_PAY_PROBLEMS else None
    quote = st.quote
    if quote is not None and quote.refusal is not None and not quote.overridable:
        return quote.refusal.code
    return None


# Problems that stop an insurance sale but not a self-pay one: who the customer is, or a hard limit
# (problems with the basket itself, such as a missing price, stop both).
SELF_PAY_PROBLEMS = frozenset(
    {
        "unknown_person",
        "hotlisted",
        "no_scheme",
        "card",
        "sync_too_old",
        "hotlist_too_old",
        "unsynced_exposure",
    }
)

# Problems a change to the basket or a fresh pre-settlement may clear (the others stay until the
# customer changes: an unknown person, a hotlisted card)
RECOVERABLE = frozenset(
    {
        "price_needed",
        "bad_basket",
        "no_scheme",
        "invalid_input",
        "offline_sale_limit",
        "offline_person_count",
        "offline_person_amount",
        "unsynced_exposure",
        "sync_too_old",
        "hotlist_too_old",
        "stale_basket",
        "card",
    }
)
