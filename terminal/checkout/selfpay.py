"""The self-pay sale (自费): the customer pays the whole basket, no insurance is used.

For when insurance cannot settle: a hard offline limit, a person the terminal cannot find, a
blocked card, or no card or e-card at all (DESIGN.md "Persons and accumulators", "Offline risk":
"cash sale still possible"). The basket is priced exactly as an insurance basket is
(`CheckoutService.price_basket`, `parse_basket`) and each line is `line_amount`, the engine's one
rounding of qty × price. It is recorded by `terminal/ledger/selfpay.py`, outside the sales chain,
the outbox, the persons and the accumulators: it is not an insurance settlement and is never
uploaded as one. Its drugs' traceability codes are checked and written in its own unit of work
and reported to the platform as a 3505 trace report (`tracereport.py`). A supervisor may refund a
self-pay sale in full, once (`refund_self_pay`): a row of its own with the amounts negated; or in
part (`refund_self_pay_part`): that full refund and a new self-pay sale of the kept lines, in one
unit (refused for a sale whose drugs carried traceability codes: refund it whole and sell again).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from terminal.checkout.tender import Tender, TenderRequest
from terminal.checkout.tracereport import self_pay_return, self_pay_trace
from terminal.errors import CheckoutError, InvalidInputError, LedgerError
from terminal.ledger import SelfPayLine, SelfPayRecord, get_self_pay, record_self_pay
from terminal.ledger import refund_self_pay as _record_refund
from terminal.ledger import refund_self_pay_part as _record_part
from terminal.settlement import Catalogue, line_amount, parse_basket
from terminal.settlement.money import format_fen

if TYPE_CHECKING:
    from terminal.checkout.service import CheckoutService
    from terminal.ledger.unit import WriteUnit

__all__ = [
    "PAYMENT_METHODS",
    "SelfPayOutcome",
    "is_self_pay_id",
    "new_basket_id",
    "refund_self_pay",
    "refund_self_pay_part",
    "self_pay_lines",
    "sell_self_pay",
]

PAYMENT_METHODS = ("cash", "bank_card", "mobile")
_REASON = re.compile(r"[a-z][a-z0-9_]{0,39}")  # a refusal or problem code: "sync_too_old"
_BASKET_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# `<dev_no>-S<n>`; a transaction of the sales chain is `<dev_no>-<seq>`, all digits after the dash
_SELF_PAY_ID = re.compile(r".+-S[0-9]+")


@dataclass(frozen=True, slots=True)
class SelfPayOutcome:
    """A committed self-pay sale; `created` False: the basket was sold before, this is that sale."""

    record: SelfPayRecord
    created: bool
    tender: Tender | None = None  # how it was paid (None: a sale made before, or a refund)

    @property
    def self_pay_id(self) -> str:
        return self.record.self_pay_id

    def line(self) -> dict[str, Any]:
        """The JSON line `medpos checkout --self-pay` prints (money as yuan text); a refund's
        has `orig_self_pay_id` too."""
        refund = self.record.orig_self_pay_id
        return {
            "self_pay_id": self.record.self_pay_id,
            **({"orig_self_pay_id": refund} if refund is not None else {}),
            "total": format_fen(self.record.total),
            **({"tender": self.tender.to_json()} if self.tender is not None else {}),
            "lines": [
                {
                    "code": line.code,
                    "name": line.name,
                    "qty": line.qty,
                    "price": line.price,
                    "amount": format_fen(line.amount),
                }
                for line in self.record.lines
            ],
        }


def is_self_pay_id(text: str) -> bool:
    """Whether `text` has the shape of a self-pay id (`<dev_no>-S<n>`), not a transaction id."""
    return _SELF_PAY_ID.fullmatch(text) is not None


def new_basket_id() -> str:
    """A fresh basket id, for a front end that has none of its own."""
    return uuid.uuid4().hex


def self_pay_lines(
    catalogue: Catalogue, priced: Sequence[Mapping[str, Any]], source: str = "basket"
) -> tuple[SelfPayLine, ...]:
    """Priced basket lines `{code, qty, price}` → self-pay lines, each amount rounded once.

    Pure. A bad quantity or price is a `CheckoutError("bad_basket")` naming the line."""
    try:
        basket = parse_basket(list(priced), source)
    except InvalidInputError as exc:
        raise CheckoutError("bad_basket", f"{exc}: correct that line and try again") from None
    out = []
    for raw, line in zip(priced, basket, strict=True):
        item = catalogue.items.get(line.code)
        out.append(
            SelfPayLine(
                code=line.code,
                name=item.name if item is not None else None,
                qty=str(raw["qty"]),
                price=str(raw["price"]),
                amount=line_amount(line),
            )
        )
    return tuple(out)


def sell_self_pay(
    service: CheckoutService,
    basket: Sequence[Mapping[str, Any]],
    *,
    basket_id: str,
    payment_method: str,
    reason: str,
    operator: str | None = None,
    source: str = "basket",
    tender: TenderRequest | None = None,
) -> SelfPayOutcome:
    """Price and record a self-pay sale of `basket` (lines `{code | barcode, qty, price?}`).

    `reason`: why insurance was not used (a refusal or problem code, `not_identified`, or
    `requested` when the caller asked for it). The same `basket_id` again returns the first sale.
    `tender`: how the total is paid (None: all by `payment_method`). Everything is checked
    before anything is written."""
    if not isinstance(basket_id, str) or not _BASKET_ID.fullmatch(basket_id):
        raise CheckoutError(
            "bad_basket_id",
            f"{source}: basket_id: the basket id must be 1 to 64 letters, digits or . _ : -",
        )
    if payment_method not in PAYMENT_METHODS:
        raise CheckoutError(
            "bad_payment",
            f"{source}: payment_method {payment_method!r}: choose one of "
            f"{', '.join(PAYMENT_METHODS)}",
        )
    if not _REASON.fullmatch(reason):
        raise CheckoutError("bad_reason", f"{source}: reason {reason!r} is not a reason code")
    catalogue = service.reference().catalogue
    priced = service.price_basket(basket, source)
    lines = self_pay_lines(catalogue, priced, source)
    paid = (tender or TenderRequest()).settle(sum(line.amount for line in lines), payment_method)
    now = service.local_now()
    record, created = record_self_pay(
        service.ledger,
        basket_id=basket_id,
        at=now,
        operator=operator,
        payment_method=payment_method,
        reason=reason,
        lines=lines,
        tenders=paid.rows(),
        trace=self_pay_trace(catalogue, priced, service.config.trace, now, operator, source),
    )
    return SelfPayOutcome(record, created, paid if created and tender is not None else None)


def refund_self_pay(
    service: CheckoutService, self_pay_id: str, *, reason: str, operator: str
) -> SelfPayOutcome:
    """Refund a self-pay sale in full (the supervisor's id in `operator`): a new row, audited.

    A second refund of the sale, or a refund of a refund, is a `CheckoutError("refund_refused")`
    saying why (audited as a refusal, as an insurance refund's is)."""
    if not reason.strip():
        raise CheckoutError("bad_refund", "give the reason for the refund (--reason)")
    if not operator.strip():
        raise CheckoutError("bad_refund", "give the supervisor's operator id (--operator)")
    now = service.local_now()
    try:
        record = _record_refund(
            service.ledger,
            self_pay_id,
            at=now,
            operator=operator,
            reason=reason,
            trace=self_pay_return(now, operator),
        )
    except LedgerError as exc:
        if type(exc) is not LedgerError:
            raise
        service.ledger.audit("refusal", operator, {"refund": self_pay_id, "message": str(exc)}, now)
        raise CheckoutError("refund_refused", str(exc)) from None
    return SelfPayOutcome(record, True)


def refund_self_pay_part(
    service: CheckoutService,
    self_pay_id: str,
    give_back: Mapping[int, str],
    *,
    reason: str,
    operator: str,
) -> tuple[SelfPayOutcome, SelfPayOutcome | None]:
    """Give back `give_back` (line_no → quantity) of a self-pay sale: its full refund and a new
    self-pay sale of the kept lines in one unit (docs/core.md "Partial refunds"); `(the refund,
    the kept sale)`, the kept sale None when everything is given back (a full refund)."""
    from terminal.checkout.partial import SoldLine, plan_refund

    if not reason.strip() or not operator.strip():
        raise CheckoutError("bad_refund", "give the reason and the supervisor's operator id")
    sale = get_self_pay(service.ledger, self_pay_id)
    if sale is None or sale.is_refund:
        raise CheckoutError("refund_refused", f"no self-pay sale {self_pay_id} to refund")
    sold = [SoldLine(n, line.code, line.qty, line.price) for n, line in enumerate(sale.lines)]
    plan = plan_refund(sold, give_back)
    if plan.full:
        return refund_self_pay(service, self_pay_id, reason=reason, operator=operator), None
    kept = self_pay_lines(service.reference().catalogue, list(plan.kept), "partial refund")
    now = service.local_now()
    try:
        refund, kept_sale = _record_part(
            service.ledger,
            self_pay_id,
            at=now,
            operator=operator,
            reason=reason,
            kept=kept,
            trace=_refuse_coded,
        )
    except LedgerError as exc:
        if type(exc) is not LedgerError:
            raise
        service.ledger.audit("refusal", operator, {"refund": self_pay_id, "message": str(exc)}, now)
        raise CheckoutError("refund_refused", str(exc)) from None
    return SelfPayOutcome(refund, True), SelfPayOutcome(kept_sale, True)


def _refuse_coded(unit: WriteUnit, sale: SelfPayRecord, refund_id: str) -> None:
    """A partial refund cannot tell which packages' codes the customer keeps: a sale whose drugs
    carried traceability codes is refunded whole (its codes given back), then sold again."""
    if any(t["code"] for t in unit.trace_takes(sale.self_pay_id)):
        raise LedgerError(
            f"{sale.self_pay_id} sold drugs with traceability codes: a part of it cannot be "
            "given back; refund it whole and sell the kept packages again, scanning their codes"
        )
