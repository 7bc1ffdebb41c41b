"""Receipts of committed sales, refunds and self-pay sales, built from the ledger (never from the
screen).

What a receipt says is read back from the committed rows, so a receipt can only show what the
ledger holds; it is printed after the commit, and can be printed again. Its QR code carries
`medpos:r1:<dev_no>:<txn_id>:<seq>:<hash>` (docs/ui.md "Receipts"): whoever holds the terminal's
ledger, or the platform that received the entry, can check that the sale exists with that hash;
`/verify?code=…` on the terminal does it. A self-pay sale or refund is not in the sales chain: its
receipt has no such code.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from terminal.checkout.basket import mask_cert
from terminal.checkout.service import CheckoutService
from terminal.errors import LedgerError
from terminal.ledger import get_self_pay, tenders_of, txn_lines, txn_of, txn_with_entry
from terminal.ledger.history import acct_balance_after, partial_refund_of

if TYPE_CHECKING:
    from drivers.printer import KeptSale, Receipt, ReceiptLine

__all__ = ["VERIFY_PREFIX", "parse_verify_text", "receipt_for", "verify_text"]

VERIFY_PREFIX = "medpos:r1:"


def verify_text(dev_no: str, txn_id: str, seq: int, hash_hex: str) -> str:
    return f"{VERIFY_PREFIX}{dev_no}:{txn_id}:{seq}:{hash_hex}"


def parse_verify_text(text: str) -> dict[str, Any] | None:
    if not text.startswith(VERIFY_PREFIX):
        return None
    parts = text[len(VERIFY_PREFIX) :].split(":")
    if len(parts) != 4 or not parts[2].isdigit():
        return None
    return {"dev_no": parts[0], "txn_id": parts[1], "seq": int(parts[2]), "hash": parts[3]}


def receipt_for(service: CheckoutService, txn_id: str, language: str) -> Receipt | None:
    """The receipt of `txn_id` (or of a self-pay sale's id) from the ledger, or None when there
    is no such transaction."""
    from drivers.printer import Receipt

    ledger = service.ledger
    t = txn_with_entry(ledger, txn_id)
    if t is None:
        return _self_pay_receipt(service, txn_id, language)
    refund = t["kind"] == "reversal"
    # a reversal's rows hold no amounts of their own: they are the original's, negated
    source = t
    if refund:
        orig = txn_of(ledger, t["orig_txn_id"])
        if orig is None:
            raise LedgerError(f"refund {txn_id} names no sale: run `medpos ledger verify`")
        source = orig
    sign = -1 if refund else 1
    lines = _lines(service, source["seq"], sign)
    split: tuple[int, ...] = tuple(sign * int(source[k]) for k in _SPLIT)
    kept = None
    balance = None if refund else acct_balance_after(ledger, t["seq"])
    link = partial_refund_of(ledger, txn_id, "reversal_txn_id") if refund else None
    if link is not None:
        kept_row = txn_of(ledger, link.kept_txn_id)
        if kept_row is None:
            raise LedgerError(f"refund {txn_id} names no kept sale: run `medpos ledger verify`")
        kept, lines, split = _partial(service, link.refunded, source, kept_row)
        balance = acct_balance_after(ledger, kept_row["seq"])
    config = service.config
    return Receipt(
        shop_name=config.terminal.fixmedins_name,
        fixmedins_code=config.terminal.fixmedins_code,
        dev_no=config.terminal.dev_no,
        txn_id=t["txn_id"],
        kind="refund" if refund else "sale",
        orig_txn_id=t["orig_txn_id"],
        settled_at=t["settled_at"],
        operator=t["operator"] or "",
        psn_name=source["psn_name"] or "",
        psn_cert_masked=mask_cert(source["psn_cert"] or ""),
        insutype=_insutype(source["insutype"] or "", language),
        offline=bool(t["offline"]),
        lines=tuple(lines),
        medfee_fen=split[0],
        fund_fen=split[1],
        acct_fen=split[2],
        cash_fen=split[3],
        payment_method=source["payment_method"] or "",
        seq=t["seq"],
        ledger_hash=t["entry_hash"],
        verify_text=verify_text(config.terminal.dev_no, t["txn_id"], t["seq"], t["entry_hash"]),
        language=language,
        **_tender_fields(service, t["txn_id"]),
        reason=t["reason"] or "",
        acct_balance_fen=balance,
        kept=kept,
    )


_SPLIT = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")


def _lines(service: CheckoutService, seq: int, sign: int) -> list[ReceiptLine]:
    """The receipt lines of the transaction at `seq`, amounts times `sign`."""
    from drivers.printer import ReceiptLine

    items = service.reference().catalogue.items
    lines = []
    for r in txn_lines(service.ledger, seq):
        item = items.get(r["code"])
        note = "" if r["covered"] else (r["reason"] or "self-pay")
        lines.append(
            ReceiptLine(
                name=r["name"] or (item.name if item else r["code"]),
                code=r["code"],
                qty=r["qty"],
                unit=(item.unit or "") if item else "",
                price_fen=_fen(r["price"]),
                amount_fen=sign * int(r["det_item_fee_sumamt"]),
                category=r["chrgitm_lv"] or "",
                note=note,
            )
        )
    return lines


def _partial(
    service: CheckoutService,
    refunded: tuple[tuple[int, str, str], ...],
    orig: Any,
    kept_row: Any,
) -> tuple[KeptSale, list[ReceiptLine], tuple[int, int, int, int]]:
    """A partial refund's receipt parts: the kept sale, the lines given back (each the original
    line's amount less what the kept line costs now) and what was given back in all (the kept
    sale's split less the original's)."""
    from dataclasses import replace

    from drivers.printer import KeptSale

    sold = _lines(service, orig["seq"], 1)
    kept_lines = _lines(service, kept_row["seq"], 1)
    back = {line_no: qty for line_no, _, qty in refunded}
    remaining = iter(kept_lines)
    given_back = []
    for line_no, line in enumerate(sold):
        if line_no not in back:
            next(remaining)
            continue
        still = Decimal(line.qty) - Decimal(back[line_no])
        kept_amount = next(remaining).amount_fen if still > 0 else 0
        given_back.append(
            replace(line, qty=back[line_no], amount_fen=kept_amount - line.amount_fen)
        )
    split = tuple(int(kept_row[k]) - int(orig[k]) for k in _SPLIT)
    kept = KeptSale(kept_row["txn_id"], tuple(kept_lines), *(int(kept_row[k]) for k in _SPLIT))
    return kept, given_back, (split[0], split[1], split[2], split[3])


def _self_pay_receipt(service: CheckoutService, self_pay_id: str, language: str) -> Receipt | None:
    from drivers.printer import Receipt, ReceiptLine

    sale = get_self_pay(service.ledger, self_pay_id)
    if sale is None:
        return None
    items = service.reference().catalogue.items
    lines = []
    for line in sale.lines:
        item = items.get(line.code)
        lines.append(
            ReceiptLine(
                name=line.name or line.code,
                code=line.code,
                qty=line.qty,
                unit=(item.unit or "") if item else "",
                price_fen=_fen(line.price),
                amount_fen=line.amount,
                category="",
                note="",
            )
        )
    config = service.config
    return Receipt(
        shop_name=config.terminal.fixmedins_name,
        fixmedins_code=config.terminal.fixmedins_code,
        dev_no=config.terminal.dev_no,
        txn_id=sale.self_pay_id,
        kind="self_pay_refund" if sale.is_refund else "self_pay",
        orig_txn_id=sale.orig_self_pay_id,
        settled_at=sale.settled_at,
        operator=sale.operator or "",
        psn_name="",
        psn_cert_masked="",
        insutype="",
        offline=False,
        lines=tuple(lines),
        medfee_fen=sale.total,
        fund_fen=0,
        acct_fen=0,
        cash_fen=sale.total,
        payment_method=sale.payment_method,
        seq=sale.id,
        ledger_hash="",
        verify_text="",
        language=language,
        **_tender_fields(service, sale.self_pay_id),
    )


def _tender_fields(service: CheckoutService, sale_id: str) -> dict[str, Any]:
    """`tenders` and `cash_given_fen` of a receipt, from the ledger's `sale_tenders`."""
    rows = tenders_of(service.ledger, sale_id)
    given = next((g for m, _, g in rows if m == "cash" and g is not None), None)
    return {"tenders": tuple((m, a) for m, a, _ in rows), "cash_given_fen": given}


def _insutype(code: str, language: str) -> str:
    """The insurance type's name in the receipt's language (its code when unknown)."""
    from terminal.web import i18n

    key = f"insutype:{code}"
    name = i18n.translations(language).gettext(key)
    if name == key:
        return {
            "310": "employee basic medical insurance",
            "390": "resident basic medical insurance",
        }.get(code, code)
    return name


def _fen(price: str) -> int:
    """A price as the claim gave it (up to four places) → fen, rounded half up for display."""
    from decimal import ROUND_HALF_UP, Decimal

    return int((Decimal(price) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
