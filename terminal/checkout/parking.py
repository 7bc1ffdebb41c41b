"""Park and recall a basket (docs/ui.md "Park and recall", issue 13): a customer who went to fetch
something has their basket set aside while the cashier serves others, and recalled from a list.

A parked basket keeps its lines and visit type, never its customer: a recalled basket is
identified again (card or e-card) before anything is quoted, as the next customer's would be.
Parked baskets are kept in the terminal database (`terminal/ledger/parked.py`), so a restart loses
none; signing out mid-sale parks the basket rather than handing it to the next operator. Part of
`Counter` (terminal/checkout/counter.py), which holds the state these methods change under its
lock; the pure rules (`basket_body`, `lines_of`, `basket_label`) are functions.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, fields
from typing import Any

from terminal.checkout.basket import MED_TYPES, Line
from terminal.checkout.counter_state import State
from terminal.checkout.service import CheckoutService
from terminal.errors import CheckoutError
from terminal.ledger import park_basket, parked_baskets, take_parked

__all__ = ["Parking", "basket_body", "basket_label", "lines_of"]

_LINE_FIELDS = frozenset(f.name for f in fields(Line))
_LABEL_CHARS = 40


def basket_body(st: State) -> dict[str, Any]:
    """What a parked basket keeps: its lines and visit type (not the customer)."""
    return {"lines": [asdict(line) for line in st.lines], "med_type": st.med_type}


def lines_of(body: dict[str, Any]) -> list[Line]:
    """The lines of a parked basket's `body`, as the counter holds them."""
    return [Line(**{k: v for k, v in raw.items() if k in _LINE_FIELDS}) for raw in body["lines"]]


def basket_label(lines: list[Line]) -> str:
    """How the parked list names a basket: its first item (and how many more lines)."""
    first = lines[0]
    name = (first.name or first.code)[:_LABEL_CHARS]
    return f"{name} ×{first.qty}" + (f" (+{len(lines) - 1})" if len(lines) > 1 else "")


class Parking:
    """Park the basket, list the parked ones, recall one; `Counter` provides the state, the lock
    and the change signal."""

    service: CheckoutService
    lock: threading.RLock
    state: State

    def _bump(self) -> None:
        raise NotImplementedError

    def _reset(self) -> None:
        raise NotImplementedError

    def _changed_basket(self) -> None:
        raise NotImplementedError

    def void(self, operator: str | None, reason: str = "") -> None:
        raise NotImplementedError

    def park(self, operator: str | None, reason: str = "") -> str:
        """Set the basket aside (its lines and visit type, not its customer); its id. The
        counter starts a new basket, as after a void."""
        with self.lock:
            st = self.state
            if not st.lines:
                raise CheckoutError("nothing_to_park", "the basket is empty: nothing to park")
            park_basket(
                self.service.ledger,
                st.basket_id,
                label=basket_label(st.lines),
                body=basket_body(st),
                operator=operator,
                at=self.service.local_now(),
                reason=reason,
            )
            parked = st.basket_id
            self._reset()
            self._bump()
            return parked

    def set_aside(self, operator: str | None, reason: str) -> None:
        """The cashier leaves mid-sale (signs out): a basket with lines is parked, anything else
        (a customer identified, no lines) is voided; nothing is handed to the next operator."""
        with self.lock:
            if self.state.lines:
                self.park(operator, reason=reason)
            else:
                self.void(operator, reason=reason)

    def parked(self) -> list[dict[str, Any]]:
        """The parked baskets, oldest first (see `terminal.ledger.parked_baskets`)."""
        with self.lock:
            return parked_baskets(self.service.ledger)

    def recall(self, basket_id: str, operator: str | None) -> None:
        """Bring the parked basket `basket_id` back to the counter, with nobody identified: the
        customer shows their card or e-card again before it is quoted."""
        with self.lock:
            if self.state.lines:
                raise CheckoutError(
                    "basket_open",
                    "a basket is open: finish it, park it or void it before recalling another",
                )
            body = take_parked(
                self.service.ledger, basket_id, operator=operator, at=self.service.local_now()
            )
            if body is None:
                raise CheckoutError(
                    "not_parked", "this basket is no longer parked: look at the list again"
                )
            old = self.state
            med_type = body.get("med_type", old.med_type)
            self.state = State(
                med_type=med_type if med_type in MED_TYPES else old.med_type,
                lines=lines_of(body),
                card=old.card,
                card_serial=old.card_serial,
                basket_version=old.basket_version + 1,
                notice="recalled",
            )
            self.state.last_line = len(self.state.lines) - 1
            self._changed_basket()
