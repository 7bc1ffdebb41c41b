"""The receipt a committed sale, refund or self-pay sale prints (docs/printer.md): values, labels,
and the one presentation both renderers (ESC/POS and HTML) lay out, so the two never say different
things.

A self-pay sale (`kind` "self_pay", 自费) used no insurance: its receipt says so plainly, shows the
lines, the total and the payment method, and no insured person, fund or account split, ledger
entry or verify code (it is not in the signed sales chain). Its refund (`kind` "self_pay_refund")
is the same receipt with the refund marker, the amounts negative and the sale's id.

A partial refund (`kept` set) shows the lines given back and what was given back in all, then a
section of what the customer kept: the new sale's lines and its new split (docs/printer.md).

Money is integer fen throughout; `format_fen` turns it into yuan text by integer arithmetic.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from drivers.printer.labels import Labels, labels_for

__all__ = [
    "Field",
    "ItemView",
    "KeptSale",
    "Labels",
    "Receipt",
    "ReceiptLine",
    "ReceiptView",
    "Section",
    "format_fen",
    "labels_for",
    "present",
]

KINDS = ("sale", "refund", "self_pay", "self_pay_refund")
_REFUNDS = ("refund", "self_pay_refund")
_SELF_PAY = ("self_pay", "self_pay_refund")
LANGUAGES = ("zh", "en")
PAYMENT_METHODS = ("cash", "bank_card", "mobile", "")
CATEGORIES = ("A", "B", "C", "")
HASH_EXCERPT = 16  # hex digits of the ledger hash a receipt shows

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One basket line; `category` "A"/"B"/"C", or "" for a self-pay item not in the catalogue."""

    name: str
    code: str
    qty: str
    unit: str
    price_fen: int
    amount_fen: int
    category: str
    note: str

    def __post_init__(self) -> None:
        if not (_is_int(self.price_fen) and _is_int(self.amount_fen)):
            raise ValueError(f"receipt line {self.code!r}: money must be int fen")
        if self.category not in CATEGORIES:
            raise ValueError(f"receipt line {self.code!r}: category {self.category!r} not A/B/C/''")


@dataclass(frozen=True, slots=True)
class KeptSale:
    """What a partial refund's customer kept: the new sale of the kept lines and its split."""

    txn_id: str
    lines: tuple[ReceiptLine, ...]
    medfee_fen: int
    fund_fen: int
    acct_fen: int
    cash_fen: int


@dataclass(frozen=True, slots=True)
class Receipt:
    """Everything a receipt shows; a refund's amounts come negative from the caller."""

    shop_name: str
    fixmedins_code: str
    dev_no: str
    txn_id: str
    kind: str  # "sale" | "refund" | "self_pay" | "self_pay_refund"
    orig_txn_id: str | None  # the refunded sale's txn_id (or self-pay id); None for a sale
    settled_at: str  # ISO 8601 with offset
    operator: str
    psn_name: str
    psn_cert_masked: str
    insutype: str
    offline: bool
    lines: tuple[ReceiptLine, ...]
    medfee_fen: int
    fund_fen: int
    acct_fen: int
    cash_fen: int
    payment_method: str  # "cash" | "bank_card" | "mobile" | ""
    seq: int
    ledger_hash: str  # 64 hex; "" for a self-pay sale
    verify_text: str  # what the QR code encodes; "" for a self-pay sale
    language: str = "zh"  # "zh" | "en"
    # how `cash_fen` was paid, `(method, fen)` per method (a refund's negated; empty: by
    # `payment_method` alone), and the cash handed over (the change is the difference)
    tenders: tuple[tuple[str, int], ...] = ()
    cash_given_fen: int | None = None
    reason: str = ""  # a refund's reason
    acct_balance_fen: int | None = None  # the personal account after the sale (None: not known)
    kept: KeptSale | None = None  # a partial refund: the sale of what the customer kept

    def __post_init__(self) -> None:
        money = (self.medfee_fen, self.fund_fen, self.acct_fen, self.cash_fen, self.seq)
        if not all(_is_int(v) for v in money):
            raise ValueError(f"receipt {self.txn_id}: money and seq must be int (fen)")
        if self.kind not in KINDS:
            raise ValueError(f"receipt {self.txn_id}: kind {self.kind!r} is not one of {KINDS}")
        if (self.kind in _REFUNDS) != (self.orig_txn_id is not None):
            raise ValueError(f"receipt {self.txn_id}: a refund, and only a refund, has orig_txn_id")
        if self.kept is not None and self.kind != "refund":
            raise ValueError(f"receipt {self.txn_id}: only a refund keeps a part of its sale")
        if self.language not in LANGUAGES:
            raise ValueError(f"receipt {self.txn_id}: language {self.language!r} is not zh or en")
        if self.payment_method not in PAYMENT_METHODS:
            raise ValueError(f"receipt {self.txn_id}: payment method {self.payment_method!r}")
        if self.kind in _SELF_PAY:
            if self.fund_fen or self.acct_fen or self.cash_fen != self.medfee_fen:
                raise ValueError(f"receipt {self.txn_id}: a self-pay sale is paid all in cash")
            if self.ledger_hash or self.verify_text:
                raise ValueError(f"receipt {self.txn_id}: a self-pay sale has no ledger entry")
        elif not _HEX64.fullmatch(self.ledger_hash):
            raise ValueError(f"receipt {self.txn_id}: ledger_hash must be 64 hex digits")
        self._check_tenders()

    def _check_tenders(self) -> None:
        if not all(m in PAYMENT_METHODS and m and _is_int(a) for m, a in self.tenders):
            raise ValueError(f"receipt {self.txn_id}: tenders must be (method, int fen)")
        if self.tenders and sum(a for _, a in self.tenders) != self.cash_fen:
            raise ValueError(f"receipt {self.txn_id}: the tenders do not add up to the cash paid")
        cash = dict(self.tenders).get("cash", 0)
        given = self.cash_given_fen
        if given is not None and (not _is_int(given) or given < cash):
            raise ValueError(f"receipt {self.txn_id}: less cash handed over than the cash part")


def format_fen(fen: int) -> str:
    """Yuan with two decimals, by integer arithmetic: 1234 → "12.34", -5 → "-0.05"."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan}.{cents:02d}"


@dataclass(frozen=True, slots=True)
class Field:
    """A label and its value."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class ItemView:
    """One basket line as printed: `quantity` is "2 盒 × 12.34", `detail` category and note."""

    name: str
    code: str
    quantity: str
    amount: str
    detail: str


@dataclass(frozen=True, slots=True)
class Section:
    """A titled part after the totals: a partial refund's kept sale."""

    title: str
    items: tuple[ItemView, ...]
    totals: tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class ReceiptView:
    """A receipt as text, in the order it is printed."""

    lang_tag: str
    shop_name: str
    title: str
    markers: tuple[str, ...]  # "退费", "离线结算": printed prominently
    header: tuple[Field, ...]
    items: tuple[ItemView, ...]
    totals: tuple[Field, ...]
    footer: tuple[Field, ...]
    verify_label: str
    verify_text: str
    sections: tuple[Section, ...] = ()


def _plain(text: str) -> str:
    """One line of text: control characters become spaces, lone surrogates U+FFFD."""
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        out.append(" " if category == "Cc" else "\ufffd" if category == "Cs" else ch)
    return "".join(out).strip()


def _format_time(settled_at: str) -> str:
    try:
        moment = datetime.fromisoformat(settled_at)
    except ValueError:
        return settled_at  # shown as the caller gave it: a receipt must still print
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    offset = moment.strftime("%z")  # "+0800"
    return f"{text} {offset[:3]}:{offset[3:]}" if offset else text


def _detail(category: str, note: str) -> str:
    """Category and note, the note left out when it only repeats the category ("自费")."""
    return category if note.casefold() in ("", category.casefold()) else f"{category} {note}"


def _items(lines: tuple[ReceiptLine, ...], lab: Labels, self_pay: bool) -> tuple[ItemView, ...]:
    return tuple(
        ItemView(
            name=_plain(line.name),
            code=_plain(line.code),
            quantity=_plain(f"{line.qty} {line.unit}") + f" × {format_fen(line.price_fen)}",
            amount=format_fen(line.amount_fen),
            # on a self-pay receipt every line is self-pay: the marker says it once
            detail="" if self_pay else _detail(lab.categories[line.category], _plain(line.note)),
        )
        for line in lines
    )


def _split(lab: Labels, medfee: int, fund: int, acct: int, cash: int) -> list[Field]:
    return [
        Field(lab.medfee, format_fen(medfee)),
        Field(lab.fund, format_fen(fund)),
        Field(lab.acct, format_fen(acct)),
        Field(lab.cash, format_fen(cash)),
    ]


def present(receipt: Receipt) -> ReceiptView:
    """The receipt's words and amounts, in its language and printing order."""
    lab = labels_for(receipt.language)
    self_pay = receipt.kind in _SELF_PAY
    markers = []
    if receipt.kind in _REFUNDS:
        markers.append(lab.refund)
    if receipt.kept is not None:
        markers.append(lab.partial)
    if self_pay:
        markers.append(lab.self_pay)
    if receipt.offline and receipt.kind not in _REFUNDS:
        # a refund is a reversal, always stored to be uploaded later whether or not the platform
        # answered: it is not a settlement, so never "离线结算" (issue 13)
        markers.append(lab.offline)
    header = [
        Field(lab.institution, receipt.fixmedins_code),
        Field(lab.terminal, receipt.dev_no),
        Field(lab.settled_at, _format_time(receipt.settled_at)),
        Field(lab.operator, receipt.operator),
    ]
    if not self_pay:  # no insured person: nobody's insurance was used
        header += [
            Field(lab.person, receipt.psn_name),
            Field(lab.cert, receipt.psn_cert_masked),
            Field(lab.insutype, receipt.insutype),
        ]
    if self_pay:
        totals = [Field(lab.total, format_fen(receipt.cash_fen))]
    else:
        totals = _split(
            lab, receipt.medfee_fen, receipt.fund_fen, receipt.acct_fen, receipt.cash_fen
        )
    if len(receipt.tenders) > 1:  # a split: what each method paid
        totals += [Field(lab.methods[m], format_fen(a)) for m, a in receipt.tenders]
    elif receipt.tenders:
        totals.append(Field(lab.payment_method, lab.methods[receipt.tenders[0][0]]))
    elif receipt.payment_method:
        totals.append(Field(lab.payment_method, lab.methods[receipt.payment_method]))
    if receipt.cash_given_fen is not None:
        change = receipt.cash_given_fen - dict(receipt.tenders).get("cash", 0)
        totals += [
            Field(lab.tendered, format_fen(receipt.cash_given_fen)),
            Field(lab.change, format_fen(change)),
        ]
    sections = []
    kept = receipt.kept
    if kept is not None:
        kept_totals = _split(lab, kept.medfee_fen, kept.fund_fen, kept.acct_fen, kept.cash_fen)
        sections.append(
            Section(lab.kept % kept.txn_id, _items(kept.lines, lab, False), tuple(kept_totals))
        )
    if receipt.acct_balance_fen is not None:
        totals.append(Field(lab.acct_balance, format_fen(receipt.acct_balance_fen)))
    footer = [Field(lab.txn_id, receipt.txn_id)]
    if receipt.orig_txn_id is not None:
        footer.append(Field(lab.orig_txn_id, receipt.orig_txn_id))
    if receipt.reason:
        footer.append(Field(lab.reason, receipt.reason))
    if not self_pay:
        footer += [
            Field(lab.seq, str(receipt.seq)),
            Field(lab.ledger_hash, receipt.ledger_hash[:HASH_EXCERPT].lower()),
        ]
    return ReceiptView(
        lang_tag=lab.lang_tag,
        shop_name=_plain(receipt.shop_name),
        title=lab.self_pay_title if self_pay else lab.title,
        markers=tuple(markers),
        header=tuple(Field(f.label, _plain(f.value)) for f in header),
        items=_items(receipt.lines, lab, self_pay),
        totals=tuple(totals),
        footer=tuple(Field(f.label, _plain(f.value)) for f in footer),
        verify_label=lab.verify,
        verify_text=receipt.verify_text,
        sections=tuple(Section(_plain(x.title), x.items, x.totals) for x in sections),
    )
