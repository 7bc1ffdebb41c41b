"""Tender: how the person pays their part of a sale, and the change (issue 13, "What a cashier's
day needs"; docs/core.md "Tender and change").

What the person pays (an insurance sale's `psn_cash_pay`, a self-pay sale's total) may be split
across cash, bank card and mobile payment; the parts add up to it exactly, to the fen. The cash
handed over (`cash_given`) is at least the cash part, and the change is the difference. Pure:
amounts are integer fen, nothing here reads a clock, a database or the configuration.

A refund gives the money back by the methods it was paid with (`refund_parts`); when only part of
a sale is given back (a partial refund: the reversal and a new sale of what is kept),
`kept_parts` keeps cash first, so what goes back returns to the card or phone it came from as far
as it can and card money is never turned into cash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from terminal.errors import CheckoutError
from terminal.settlement.money import format_fen, parse_money

__all__ = [
    "MESSAGES",
    "METHODS",
    "TenderError",
    "Tender",
    "TenderRequest",
    "kept_parts",
    "parse_tender_args",
    "refund_parts",
    "settle_tender",
    "tender_from_form",
    "tender_from_json",
]

METHODS = ("cash", "bank_card", "mobile")

# Every refusal's sentence, English with named placeholders: the pages translate the template
# and fill it in (`TenderError.template`, `.params`), so the amounts survive translation.
_NEGATIVE = "%(method)s %(amount)s: an amount paid is never negative: enter what is paid that way"
_OVER = (
    "the card and mobile payments (%(paid)s) are more than the customer pays (%(due)s): lower them"
)
_ADD = "the payments add up to %(paid)s but the customer pays %(due)s: add %(diff)s"
_TAKE_OFF = "the payments add up to %(paid)s but the customer pays %(due)s: take off %(diff)s"
_SHORT = (
    "the cash handed over (%(given)s) is less than the cash part (%(cash)s): take %(more)s "
    "more, or pay the rest by card or phone"
)
_NO_CASH = "nothing is paid in cash: leave the cash handed over empty"
_UNKNOWN = "%(name)s is not a payment method: use cash, card or mobile"
_AMOUNT = "%(field)s: %(text)s is not an amount in yuan such as 20.00"
MESSAGES = (_NEGATIVE, _OVER, _ADD, _TAKE_OFF, _SHORT, _NO_CASH, _UNKNOWN, _AMOUNT)


class TenderError(CheckoutError):
    """A refused tender: `code` `bad_tender` or `cash_short`, the English `template` (one of
    `MESSAGES`) and its `params`, so that a page can say it in its own language."""

    def __init__(self, code: str, template: str, **params: str) -> None:
        self.template = template
        self.params = params
        super().__init__(code, template % params)


# names a person may type for a method (the CLI's `--tender card=5.00`)
_ALIASES = {"cash": "cash", "card": "bank_card", "bank_card": "bank_card", "mobile": "mobile"}


@dataclass(frozen=True, slots=True)
class Tender:
    """The parts `(method, fen)` in `METHODS` order (each > 0), and the cash handed over."""

    parts: tuple[tuple[str, int], ...]
    cash_given: int | None = None  # None: exactly the cash part (no change)

    @property
    def total(self) -> int:
        return sum(amount for _, amount in self.parts)

    @property
    def cash(self) -> int:
        return dict(self.parts).get("cash", 0)

    @property
    def change(self) -> int:
        """The change given back (fen, never negative)."""
        return 0 if self.cash_given is None else self.cash_given - self.cash

    @property
    def method(self) -> str:
        """The method of the largest part (cash for a sale with nothing to pay): the single
        `payment_method` a sale row and the upload keep."""
        return max(self.parts, key=lambda p: p[1])[0] if self.parts else "cash"

    def to_json(self) -> dict[str, Any]:
        """The tender as a JSON line shows it: yuan text per method, cash handed over, change."""
        out: dict[str, Any] = {"parts": {m: format_fen(a) for m, a in self.parts}}
        if self.cash_given is not None:
            out.update(given=format_fen(self.cash_given), change=format_fen(self.change))
        return out

    def rows(self) -> tuple[tuple[str, int, int | None], ...]:
        """`(method, amount, given)` as the ledger stores them (`given` on the cash row only)."""
        return tuple((m, a, self.cash_given if m == "cash" else None) for m, a in self.parts)


@dataclass(frozen=True, slots=True)
class TenderRequest:
    """What the cashier or caller said about the payment, before the amount due is settled."""

    parts: tuple[tuple[str, int], ...] = ()  # (method or alias, fen)
    cash_given: int | None = None
    rest_in_cash: bool = False

    def settle(self, due: int, default: str | None = None) -> Tender:
        """`settle_tender` of this request for `due` fen."""
        return settle_tender(
            due,
            dict(self.parts),
            cash_given=self.cash_given,
            rest_in_cash=self.rest_in_cash,
            default=default,
        )


def settle_tender(
    due: int,
    parts: Mapping[str, int] | None = None,
    *,
    cash_given: int | None = None,
    rest_in_cash: bool = False,
    default: str | None = None,
) -> Tender:
    """The tender of a sale where the person pays `due` fen.

    `parts` None or empty: all of it by `default` (a method; cash when None). `rest_in_cash`:
    what the parts do not cover is the cash part (the counter's form: card and phone amounts
    typed, the rest cash). Otherwise the parts must add up to `due` exactly. A bad split is a
    `CheckoutError("bad_tender")` saying what is wrong and what to do."""
    amounts: dict[str, int] = {}
    for name, amount in (parts or {}).items():
        method = _method(name)
        if amount < 0:
            raise TenderError(
                "bad_tender", _NEGATIVE, method=_label(method), amount=format_fen(amount)
            )
        amounts[method] = amounts.get(method, 0) + amount
    if not amounts and default not in (None, "cash"):
        amounts[_method(str(default))] = due
    elif not amounts or rest_in_cash:
        rest = due - sum(a for m, a in amounts.items() if m != "cash")
        if rest < 0:
            raise TenderError("bad_tender", _OVER, paid=format_fen(due - rest), due=format_fen(due))
        amounts["cash"] = rest
    paid = sum(amounts.values())
    if paid != due:
        raise TenderError(
            "bad_tender",
            _ADD if paid < due else _TAKE_OFF,
            paid=format_fen(paid),
            due=format_fen(due),
            diff=format_fen(abs(due - paid)),
        )
    cash = amounts.get("cash", 0)
    if cash_given is not None:
        if cash_given < cash:
            raise TenderError(
                "cash_short",
                _SHORT,
                given=format_fen(cash_given),
                cash=format_fen(cash),
                more=format_fen(cash - cash_given),
            )
        if cash == 0 and cash_given > 0:
            raise TenderError("cash_short", _NO_CASH)
    ordered = tuple((m, amounts[m]) for m in METHODS if amounts.get(m, 0) > 0)
    return Tender(ordered, cash_given)


def parse_tender_args(specs: Sequence[str], cash_given: str | None = None) -> TenderRequest:
    """`["cash=20.00", "card=5.00"]` and the cash handed over (`"50.00"`) → the request.

    Each method at most once; a bad entry is a `CheckoutError("bad_tender")` naming it."""
    parts: dict[str, int] = {}
    for spec in specs:
        name, _, text = spec.partition("=")
        name = name.strip().lower()
        amount = _cli_amount(text.strip())
        if amount is None:
            raise CheckoutError(
                "bad_tender",
                f"--tender {spec!r}: write METHOD=AMOUNT in yuan, e.g. cash=20.00 or card=5.00",
            )
        method = _method(name)
        if method in parts:
            raise CheckoutError("bad_tender", f"--tender {spec!r}: {name} is given twice")
        parts[method] = amount
    given = None if cash_given is None else _cli_amount(cash_given)
    if cash_given is not None and given is None:
        raise CheckoutError(
            "bad_tender", f"--cash-given {cash_given!r}: write an amount in yuan, e.g. 50.00"
        )
    return TenderRequest(tuple(parts.items()), given)


def _cli_amount(text: str) -> int | None:
    try:
        return parse_money(text, "amount")
    except ValueError:
        return None


def tender_from_json(parts: object, cash_given: object, source: str = "request") -> TenderRequest:
    """`{"cash": "20.00", "card": "5.00"}` and `"50.00"` of a JSON request (`POST
    /api/checkout`'s `tender` and `cash_given`; either may be absent, None) → the request."""
    if parts is not None and not isinstance(parts, dict):
        raise CheckoutError(
            "bad_tender",
            f'{source}.tender: give {{METHOD: AMOUNT}}, e.g. {{"cash": "20.00", "card": "5.00"}}',
        )
    amounts: dict[str, int] = {}
    for name, text in (parts or {}).items():
        method = _method(str(name).lower())
        if method in amounts:
            raise CheckoutError("bad_tender", f"{source}.tender: {name} is given twice")
        amounts[method] = _json_amount(f"{source}.tender.{name}", text)
    given = None if cash_given is None else _json_amount(f"{source}.cash_given", cash_given)
    return TenderRequest(tuple(amounts.items()), given)


def _json_amount(field: str, text: object) -> int:
    try:
        return parse_money(text, field)
    except ValueError:
        raise CheckoutError(
            "bad_tender", f'{field}: {text!r} is not an amount in yuan as text, e.g. "20.00"'
        ) from None


def tender_from_form(card: str, mobile: str, cash_given: str) -> TenderRequest:
    """The counter's tender fields (yuan text; empty: none): card and mobile amounts, the rest in
    cash, and the cash handed over."""
    parts = []
    for method, field, text in (("bank_card", "card", card), ("mobile", "mobile", mobile)):
        amount = _form_amount(field, text)
        if amount:
            parts.append((method, amount))
    given = _form_amount("cash handed over", cash_given)
    return TenderRequest(tuple(parts), given, rest_in_cash=True)


def _form_amount(field: str, text: str) -> int | None:
    text = text.strip().replace("¥", "").replace("，", ".").replace(",", ".")
    if not text:
        return None
    try:
        return parse_money(text, field)
    except ValueError:
        raise TenderError("bad_tender", _AMOUNT, field=field, text=repr(text)) from None


def refund_parts(paid: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    """A full refund's parts: each method paid given back, negated."""
    return tuple((m, -a) for m, a in paid if a != 0)


def kept_parts(paid: Iterable[tuple[str, int]], kept: int) -> tuple[tuple[str, int], ...]:
    """The parts of `kept` fen (what the customer keeps of a sale paid by `paid`), cash first,
    then mobile, then bank card: the rest goes back the way it came, card money never as cash."""
    have = dict(paid)
    if kept > sum(have.values()) or kept < 0:
        raise CheckoutError(
            "bad_tender", f"{format_fen(kept)} kept is not within what was paid: check the refund"
        )
    out = []
    for method in ("cash", "mobile", "bank_card"):
        take = min(kept, have.get(method, 0))
        if take > 0:
            out.append((method, take))
            kept -= take
    return tuple(sorted(out, key=lambda p: METHODS.index(p[0])))


def _method(name: str) -> str:
    method = _ALIASES.get(name)
    if method is None:
        raise TenderError("bad_tender", _UNKNOWN, name=repr(name))
    return method


def _label(method: str) -> str:
    return {"bank_card": "card"}.get(method, method)
