"""The counter: one customer's sale as the cashier builds it, from identification to receipt.

One terminal has one counter. Everything that changes it (a card inserted, a code seen by the
camera, a scan, a quantity edit, a confirm) goes through `Counter` under its lock, which is also
the lock of the terminal's ledger connection, and bumps `version` so that every open page is told
(server-sent events) and redraws. Nothing here is written to the ledger before `confirm`; the
pre-settlement is a dry run of the very sale `confirm` commits (`CheckoutService.quote`).

A confirmed basket keeps its id in `committed`: a second confirm of it (a double click, a reload,
a second tab) finds the sale instead of making another.

When insurance cannot settle the basket (nobody identified, a person the terminal cannot find, a
blocked card, a hard offline limit), the customer may pay it all: `self_pay` records a self-pay
sale (`terminal/checkout/selfpay.py`) and resets the counter like a confirm.

The basket's lines and their editing are in `terminal/checkout/basket.py` (the counter's side of it,
scans and edits, in `terminal/checkout/scanning.py`), the state the counter shows in
`terminal/checkout/counter_state.py`, parking and recalling a basket in
`terminal/checkout/parking.py`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from terminal.checkout.basket import (
    MED_TYPES,
    CatalogueSearch,
    Line,
    basket_items,
    mask_cert,
    needs_price,
)
from terminal.checkout.counter_state import (
    RECOVERABLE,
    SELF_PAY_PROBLEMS,
    Person,
    Sale,
    SelfPaid,
    State,
    check_confirmable,
    self_pay_reason,
)
from terminal.checkout.identifying import Identifying
from terminal.checkout.parking import Parking
from terminal.checkout.scanning import Scanning
from terminal.checkout.selfpay import PAYMENT_METHODS, self_pay_lines, sell_self_pay
from terminal.checkout.service import CheckoutRefused, CheckoutService
from terminal.checkout.tender import TenderRequest
from terminal.errors import CheckoutError, LedgerError, MedposError

__all__ = [
    "MED_TYPES",
    "PAYMENT_METHODS",
    "SELF_PAY_PROBLEMS",
    "CatalogueSearch",
    "Counter",
    "Line",
    "Person",
    "Sale",
    "SelfPaid",
    "State",
    "mask_cert",
]

_COMMITTED_KEPT = 200


class Counter(Identifying, Scanning, Parking):
    """The counter's state and every change to it; `on_change` is told after each change."""

    def __init__(
        self,
        service: CheckoutService,
        lock: threading.RLock,
        printer: Callable[[str], tuple[str, str]] | None = None,
    ) -> None:
        self.service = service
        self.lock = lock
        self.state = State(med_type=self._default_med_type())
        self.version = 0
        self._changed = threading.Condition(lock)
        self.committed: OrderedDict[str, Sale | SelfPaid] = OrderedDict()
        self._print = printer  # txn_id → (where it went, error)
        self._search: tuple[tuple[int, int], CatalogueSearch] | None = None
        self.timings: dict[str, float] = {}
        self.camera_text = ""  # the last code the camera identified someone by
        self.reread: Callable[[], None] | None = None  # set by the card watch: read the card again

    # -- change notification ----------------------------------------------------------------

    def _bump(self) -> None:
        self.version += 1
        self._changed.notify_all()

    def wait_change(self, seen: int, timeout: float) -> int:
        """Block until `version` passes `seen` (or the timeout); the version then."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != seen, timeout)
            return self.version

    def _default_med_type(self) -> str:
        return "41" if self.service.config.terminal.inst_level == "pharmacy" else "11"

    # -- basket -----------------------------------------------------------------------------

    def set_med_type(self, med_type: str) -> None:
        with self.lock:
            if med_type not in MED_TYPES:
                raise CheckoutError("bad_med_type", f"visit type must be one of {MED_TYPES}")
            self.state.med_type = med_type
            self._changed_basket()

    def void(self, operator: str | None, reason: str = "") -> None:
        """Clear the counter without a sale (audited when a basket was open); `reason`
        "signed_out": the cashier signed out mid-sale, and the basket is not handed on."""
        with self.lock:
            if self.state.lines or self.state.person:
                detail: dict[str, Any] = {
                    "basket_id": self.state.basket_id,
                    "lines": len(self.state.lines),
                }
                if reason:
                    detail["reason"] = reason
                self.service.ledger.audit("void", operator, detail, self.service.local_now())
            self._reset()
            self._bump()

    def _reset(self) -> None:
        """A new basket; the card still in the reader stays the customer until it leaves
        (issue 13, finding 5)."""
        old = self.state
        self.state = State(
            med_type=self._default_med_type(),
            card=old.card,
            card_serial=old.card_serial,
            basket_version=old.basket_version + 1,
            last_sale=old.last_sale,
        )
        if old.card_is_customer():
            self.state.person = old.person
            if old.problem is not None and old.problem[0] not in RECOVERABLE:
                self.state.problem = old.problem  # about the person: an unknown or blocked card

    def _changed_basket(self) -> None:
        if self.state.lines:
            self.state.last_sale = None  # the next customer's basket: the last sale's box goes
        self._requote()
        self._bump()

    # -- pre-settlement and commit ----------------------------------------------------------

    def basket(self) -> list[dict[str, Any]]:
        """The basket as a claim gives it."""
        return basket_items(self.state.lines)

    def _requote(self) -> None:
        st = self.state
        st.quote = None
        st.basket_version += 1
        if st.problem and st.problem[0] not in RECOVERABLE:
            return
        st.problem = None
        if st.person is None or not st.lines:
            return
        if needs_price(st.lines):
            st.problem = (
                "price_needed",
                "enter the selling price of each item not in the catalogue",
            )
            return
        try:
            st.quote = self.service.quote(st.person.identity, self.basket(), med_type=st.med_type)
        except MedposError as exc:
            st.problem = (getattr(exc, "code", "error"), str(exc))
            return
        self.timings["quoted"] = time.perf_counter()

    def refresh_quote(self) -> None:
        with self.lock:
            self._requote()
            self._bump()

    def confirm(
        self,
        basket_id: str,
        *,
        payment_method: str,
        operator: str,
        approved_by: str | None = None,
        basket_version: int | None = None,
        tender: TenderRequest | None = None,
    ) -> Sale | SelfPaid:
        """Commit the basket `basket_id` as shown at `basket_version` (a basket changed since is
        refused), paid as `tender` says (None: all by `payment_method`); the same basket
        confirmed again gives the same sale."""
        with self.lock:
            done = self._already(basket_id, basket_version)
            if done is not None:
                return done
            st = self.state
            person = check_confirmable(st, payment_method)
            try:
                outcome = self.service.sell(
                    person.identity,
                    self.basket(),
                    med_type=st.med_type,
                    operator=operator,
                    payment_method=payment_method,
                    source="counter",
                    approved_by=approved_by,
                    tender=tender,
                )
            except CheckoutRefused as exc:
                st.problem = (exc.code, str(exc))
                self._bump()
                raise
            except (CheckoutError, LedgerError):
                self._bump()
                raise
            sale = Sale(
                txn_id=outcome.txn_id,
                seq=outcome.seq,
                hash=outcome.hash,
                basket_id=basket_id,
                offline=outcome.offline,
                setlinfo=outcome.result["setlinfo"],
                tender=outcome.tender,
            )
            self._committed(sale)
        # printed after the commit and outside the lock: a slow printer does not hold the counter
        self.print_sale(sale)
        return sale

    def _already(self, basket_id: str, version: int | None) -> Sale | SelfPaid | None:
        """The sale of `basket_id` when it was committed; a refusal when the page is stale."""
        done = self.committed.get(basket_id)
        if done is None and basket_id != self.state.basket_id:
            raise CheckoutError(
                "stale_basket", "this screen is out of date: look at the counter again"
            )
        if done is None and version is not None and version != self.state.basket_version:
            raise CheckoutError("basket_changed", "the basket changed: check the new total")
        return done

    def _committed(self, sale: Sale | SelfPaid) -> None:
        self.committed[sale.basket_id] = sale
        while len(self.committed) > _COMMITTED_KEPT:
            self.committed.popitem(last=False)
        self.state.last_sale = sale
        self._reset()
        self._bump()

    # -- self-pay (no insurance) ------------------------------------------------------------

    def self_pay_reason(self) -> str | None:
        """Why insurance cannot settle this basket, when the customer may pay it all instead
        (a problem or refusal code, or `not_identified`); None otherwise."""
        return self_pay_reason(self.state)

    def self_pay_amounts(self) -> list[int] | None:
        """What each line costs without insurance (fen), when a self-pay sale is offered."""
        with self.lock:
            if self.self_pay_reason() is None:
                return None
            try:
                catalogue = self.service.reference().catalogue
                lines = self_pay_lines(catalogue, self.service.price_basket(self.basket()))
            except MedposError:
                return None
            return [line.amount for line in lines]

    def self_pay_total(self) -> int | None:
        """What the customer pays for the basket without insurance (fen), when that is offered."""
        amounts = self.self_pay_amounts()
        return None if amounts is None else sum(amounts)

    def self_pay(
        self,
        basket_id: str,
        *,
        payment_method: str,
        operator: str,
        basket_version: int | None = None,
        tender: TenderRequest | None = None,
    ) -> Sale | SelfPaid:
        """Sell the basket `basket_id` without insurance; again, the same sale."""
        with self.lock:
            done = self._already(basket_id, basket_version)
            if done is not None:
                return done
            reason = self.self_pay_reason()
            if reason is None:
                raise CheckoutError(
                    "self_pay_not_offered",
                    "a self-pay sale is for a basket insurance cannot settle: confirm this one, "
                    "or enter the missing prices first",
                )
            outcome = sell_self_pay(
                self.service,
                self.basket(),
                basket_id=basket_id,
                payment_method=payment_method,
                reason=reason,
                operator=operator,
                source="counter",
                tender=tender,
            )
            sale = SelfPaid(
                self_pay_id=outcome.self_pay_id,
                basket_id=basket_id,
                total=outcome.record.total,
                payment_method=outcome.record.payment_method,
                tender=outcome.tender.to_json() if outcome.tender is not None else None,
            )
            self._committed(sale)
        self.print_sale(sale)
        return sale

    def print_sale(self, sale: Sale | SelfPaid) -> None:
        if self._print is None:
            return
        where, error = self._print(sale.receipt_id)
        with self.lock:
            sale.printed, sale.print_error = where, error
            self.timings["printed"] = time.perf_counter()
            self._bump()
