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
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from terminal.checkout.selfpay import PAYMENT_METHODS, self_pay_lines, sell_self_pay
from terminal.checkout.service import CheckoutRefused, CheckoutService, Quote
from terminal.errors import CheckoutError, IdentityError, LedgerError, MedposError
from terminal.identity.model import Identity
from terminal.settlement.model import Catalogue

__all__ = [
    "MED_TYPES",
    "PAYMENT_METHODS",
    "CatalogueSearch",
    "Counter",
    "Line",
    "SelfPaid",
    "mask_cert",
]

MED_TYPES = ("41", "11", "14", "21")  # pharmacy, outpatient, chronic outpatient, inpatient
_BARCODE = re.compile(r"\d{8}|\d{12,14}")
_QTY = re.compile(r"[*x×]\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
_COMMITTED_KEPT = 200


def mask_cert(psn_cert: str) -> str:
    """An ID number as screens and receipts show it: region and last four characters."""
    return f"{psn_cert[:6]}********{psn_cert[-4:]}" if len(psn_cert) > 10 else "****"


@dataclass
class Line:
    """A basket line; `known` False: not in the catalogue, a self-pay line that needs a price."""

    code: str
    name: str
    qty: str = "1"
    price: str | None = None
    category: str = ""
    unit: str = ""
    restriction: str = ""
    known: bool = True


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
    card: str = "none"  # the user-card slot: "none", "present", "reading", "read", "error"
    last_sale: Sale | SelfPaid | None = None


class CatalogueSearch:
    """Name, code, barcode and pinyin-initials search over one catalogue version."""

    def __init__(self, catalogue: Catalogue) -> None:
        from pypinyin import Style, lazy_pinyin

        self.catalogue = catalogue
        self._rows: list[tuple[str, str, str]] = []  # (code, lower name, initials)
        for code, item in catalogue.items.items():
            head = item.name.split(" ")[0]
            initials = "".join(
                s[:1] for s in lazy_pinyin(head, style=Style.FIRST_LETTER, errors="ignore")
            ).lower()
            self._rows.append((code, item.name.lower(), initials))

    def search(self, query: str, limit: int = 8) -> list[str]:
        q = query.strip().lower()
        if not q:
            return []
        exact = [c for c, _, _ in self._rows if c.lower() == q]
        starts = [
            c for c, n, i in self._rows if c not in exact and (i.startswith(q) or n.startswith(q))
        ]
        within = [
            c
            for c, n, i in self._rows
            if c not in exact and c not in starts and (q in n or q in i or q in c.lower())
        ]
        return (exact + starts + within)[:limit]


class Counter:
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

    # -- identification ---------------------------------------------------------------------

    def card_event(self, event: str, detail: str = "") -> None:
        """The card slot's state: inserted, being read, read, failed or removed."""
        with self.lock:
            self.state.card = event
            if event == "none" and self.state.person and self.state.person.how == "card":
                self.state.notice = "card_removed"
            if event == "error":
                self.state.problem = ("card", detail)
            self._bump()

    def identify(
        self, identity: Identity, how: str, checked: str, *, by_camera: bool = False
    ) -> None:
        with self.lock:
            if self.state.person is not None and self.state.person.identity.psn_cert != (
                identity.psn_cert
            ):
                # another customer's card or code while a basket is open: a new sale begins
                # with the new person, and the basket stays (the cashier voids it if wrong)
                self.state.notice = "person_changed"
            cached = self.service.ledger.get_person(identity.psn_cert)
            if cached is None and identity.card_no:
                cached = self.service.ledger.find_person_by_card(identity.card_no)
            person = (cached or {}).get("person", {})
            self.state.person = Person(
                identity=identity,
                name=identity.name or (cached or {}).get("name") or "",
                masked=mask_cert(identity.psn_cert),
                insutype=identity.insutype or person.get("insutype", ""),
                region=identity.insuplc_admdvs or person.get("insuplc_admdvs", ""),
                how=how,
                checked=checked,
                by_camera=by_camera,
            )
            if cached is None:
                self.state.problem = (
                    "unknown_person",
                    "this person is not in the terminal's person list, so insurance cannot be "
                    "settled offline: sync with the platform and try again, or sell the basket "
                    "as self-pay (no insurance)",
                )
            else:
                self.state.problem = None
            self.timings["identified"] = time.perf_counter()
            self._requote()
            self._bump()

    def identify_ecard(self, text: str, *, by_camera: bool = False) -> None:
        """A scanned or photographed e-card code: verified offline, then the counter's person."""
        with self.lock:
            try:
                verified = self.service.verify_ecard(text)
            except IdentityError as exc:
                self.state.problem = (exc.code, str(exc))
                self._bump()
                return
            self.identify(verified.identity(), "ecard", "ecard_checked", by_camera=by_camera)

    def camera_ecard(self, text: str) -> bool:
        """An e-card code the camera saw; True when it identified the customer.

        The camera also sees phones held up by the next people in the queue, so it only names the
        customer when nobody is named yet, or when the camera itself named them and the basket is
        still empty. Otherwise the code is left unverified (it stays unused, so its owner can show
        it again) and the page says another code was seen: the cashier scans it on purpose, or
        finishes or voids this basket first. A card or a scanned code always takes effect."""
        with self.lock:
            person = self.state.person
            if person is not None and (not person.by_camera or self.state.lines):
                if self.state.notice != "camera_other_code":
                    self.state.notice = "camera_other_code"
                    self._bump()
                return False
            self.identify_ecard(text, by_camera=True)
            return True

    def identify_failed(self, code: str, message: str) -> None:
        with self.lock:
            self.state.problem = (code, message)
            self._bump()

    # -- basket -----------------------------------------------------------------------------

    def catalogue_search(self) -> CatalogueSearch:
        ref = self.service.reference()
        key = (ref.catalogue_version, id(ref.catalogue))
        if self._search is None or self._search[0] != key:
            self._search = (key, CatalogueSearch(ref.catalogue))
        return self._search[1]

    def search(self, query: str, limit: int = 8) -> list[dict[str, Any]]:
        with self.lock:
            found = self.catalogue_search()
            return [self._item_view(code) for code in found.search(query, limit)]

    def _item_view(self, code: str) -> dict[str, Any]:
        item = self.service.reference().catalogue.items[code]
        return {
            "code": code,
            "name": item.name,
            "category": item.category,
            "unit": item.unit or "",
            "price": format(item.price, "f") if item.price is not None else "",
            "restriction": _restriction(item),
        }

    def scan(self, text: str) -> None:
        """One line from the scan field or a wedge scanner: a barcode, an e-card code, a
        catalogue code, `*N` (quantity of the last line) or words to search for."""
        text = text.strip()
        if not text:
            return
        with self.lock:
            self.state.notice = ""
            if text.startswith("ESC1:"):
                self.identify_ecard(text)
                return
            qty = _QTY.fullmatch(text)
            if qty and self.state.lines:
                self.set_qty(len(self.state.lines) - 1, qty.group(1))
                return
            catalogue = self.service.reference().catalogue
            if _BARCODE.fullmatch(text):
                code = catalogue.barcode_index.get(text)
                if code is None:
                    # not in the catalogue: kept as a self-pay line, never dropped
                    self.state.lines.append(Line(code=text, name="", known=False))
                    self.state.notice = "unknown_barcode"
                    self._changed_basket()
                    return
                self.add(code)
                return
            if text in catalogue.items:
                self.add(text)
                return
            choices = self.search(text)
            if len(choices) == 1:
                self.add(choices[0]["code"])
                return
            self.state.choices = choices
            self.state.notice = "choose" if choices else "nothing_found"
            self._bump()

    def add(self, code: str, qty: str = "1") -> None:
        with self.lock:
            catalogue = self.service.reference().catalogue
            item = catalogue.items.get(code)
            if item is None:
                raise CheckoutError("unknown_item", f"{code} is not in the catalogue")
            for line in self.state.lines:  # the same item again: one more of it
                if line.known and line.code == code:
                    line.qty = _add_qty(line.qty, qty)
                    break
            else:
                self.state.lines.append(
                    Line(
                        code=code,
                        name=item.name,
                        qty=qty,
                        price=format(item.price, "f") if item.price is not None else None,
                        category=item.category,
                        unit=item.unit or "",
                        restriction=_restriction(item),
                    )
                )
            self.state.choices = []
            self._changed_basket()

    def set_qty(self, index: int, qty: str) -> None:
        with self.lock:
            line = self._line(index)
            value = _decimal(qty, "quantity")
            if value <= 0:
                self.state.lines.pop(index)
            else:
                line.qty = format(value.normalize(), "f")
            self._changed_basket()

    def set_price(self, index: int, price: str) -> None:
        with self.lock:
            line = self._line(index)
            value = _decimal(price, "price")
            if value <= 0 or value.as_tuple().exponent < -2:  # type: ignore[operator]
                raise CheckoutError("bad_price", "a price is in yuan with at most two decimals")
            line.price = format(value.quantize(Decimal("0.01")), "f")
            self._changed_basket()

    def set_name(self, index: int, name: str) -> None:
        with self.lock:
            self._line(index).name = name.strip()[:60]
            self._bump()

    def remove(self, index: int) -> None:
        with self.lock:
            self._line(index)
            self.state.lines.pop(index)
            self._changed_basket()

    def set_med_type(self, med_type: str) -> None:
        with self.lock:
            if med_type not in MED_TYPES:
                raise CheckoutError("bad_med_type", f"visit type must be one of {MED_TYPES}")
            self.state.med_type = med_type
            self._changed_basket()

    def void(self, operator: str | None) -> None:
        """Clear the counter without a sale (audited when a basket was open)."""
        with self.lock:
            if self.state.lines or self.state.person:
                self.service.ledger.audit(
                    "void",
                    operator,
                    {"basket_id": self.state.basket_id, "lines": len(self.state.lines)},
                    self.service.local_now(),
                )
            self._reset()
            self._bump()

    def _reset(self) -> None:
        card = self.state.card
        last = self.state.last_sale
        self.state = State(med_type=self._default_med_type(), card=card, last_sale=last)

    def _line(self, index: int) -> Line:
        if not 0 <= index < len(self.state.lines):
            raise CheckoutError("bad_line", "that line is no longer in the basket: look again")
        return self.state.lines[index]

    def _changed_basket(self) -> None:
        self._requote()
        self._bump()

    # -- pre-settlement and commit ----------------------------------------------------------

    def basket(self) -> list[dict[str, str]]:
        out = []
        for line in self.state.lines:
            item = {"code": line.code, "qty": line.qty}
            if line.price is not None:
                item["price"] = line.price
            out.append(item)
        return out

    def _requote(self) -> None:
        st = self.state
        st.quote = None
        if st.problem and st.problem[0] not in _RECOVERABLE:
            return
        st.problem = None
        if st.person is None or not st.lines:
            return
        if any(line.price is None for line in st.lines):
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
    ) -> Sale | SelfPaid:
        """Commit the basket `basket_id`; the same basket confirmed again gives the same sale."""
        with self.lock:
            done = self.committed.get(basket_id)
            if done is not None:
                return done
            st = self.state
            if basket_id != st.basket_id:
                raise CheckoutError(
                    "stale_basket", "this screen is out of date: look at the counter again"
                )
            if st.person is None:
                raise CheckoutError("no_person", "identify the customer first: card or e-card")
            if not st.lines:
                raise CheckoutError("empty_basket", "scan at least one item")
            if payment_method not in PAYMENT_METHODS:
                raise CheckoutError("bad_payment", "choose how the cash part is paid")
            if any(line.price is None for line in st.lines):
                raise CheckoutError("price_needed", "enter the price of each self-pay item")
            try:
                outcome = self.service.sell(
                    st.person.identity,
                    self.basket(),
                    med_type=st.med_type,
                    operator=operator,
                    payment_method=payment_method,
                    source="counter",
                    approved_by=approved_by,
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
            )
            self._committed(sale)
        # printed after the commit and outside the lock: a slow printer does not hold the counter
        self.print_sale(sale)
        return sale

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
        st = self.state
        if not st.lines or any(line.price is None for line in st.lines):
            return None
        if st.person is None:
            return "not_identified"
        if st.problem is not None:
            return st.problem[0] if st.problem[0] in SELF_PAY_PROBLEMS else None
        quote = st.quote
        if quote is not None and quote.refusal is not None and not quote.overridable:
            return quote.refusal.code
        return None

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

    def self_pay(self, basket_id: str, *, payment_method: str, operator: str) -> Sale | SelfPaid:
        """Sell the basket `basket_id` without insurance; again, the same sale."""
        with self.lock:
            done = self.committed.get(basket_id)
            if done is not None:
                return done
            if basket_id != self.state.basket_id:
                raise CheckoutError(
                    "stale_basket", "this screen is out of date: look at the counter again"
                )
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
            )
            sale = SelfPaid(
                self_pay_id=outcome.self_pay_id,
                basket_id=basket_id,
                total=outcome.record.total,
                payment_method=outcome.record.payment_method,
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

_RECOVERABLE = frozenset(
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


def _restriction(item: Any) -> str:
    parts = []
    if item.restrict_med_types:
        parts.append("med_types:" + ",".join(item.restrict_med_types))
    if item.restrict_flags:
        parts.append("flags:" + ",".join(item.restrict_flags))
    return ";".join(parts)


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise CheckoutError(
            f"bad_{what}", f"the {what} must be a number, like 2 or 12.50"
        ) from None
    if not value.is_finite() or value > 100000:
        raise CheckoutError(f"bad_{what}", f"the {what} must be a number, like 2 or 12.50")
    return value


def _add_qty(a: str, b: str) -> str:
    return format((Decimal(a) + Decimal(b)).normalize(), "f")
