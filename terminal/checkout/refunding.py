"""Partial refunds (docs/core.md "Partial refunds"): the reversal of the whole sale and a new sale
of what the customer keeps, committed in ONE ledger unit of work, or nothing.

Both are ordinary entries of the sales chain and are uploaded as the ordinary reversal and the
ordinary sale (platform-api.md: no message of their own). The new sale is settled inside the unit
after the reversal has given back the original's accumulators, so the person ends as if only the
kept lines had been sold; it meets the same guards and limits as any sale (clock, reference data,
hotlist, offline limits), and a refusal of it rolls the reversal back too. A `partial_refunds` row
links the three for receipts, the history and `/verify`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from terminal.checkout.committing import SaleRequest, mask_psn_cert, sale_record, settle_in_unit
from terminal.checkout.model import CheckoutRefused
from terminal.checkout.partial import RefundPlan, SoldLine, plan_refund
from terminal.errors import CheckoutError, LedgerError
from terminal.identity.model import Identity
from terminal.ledger import Appended, time_refusal, txn_lines, txn_of
from terminal.ledger.history import PartialRefund

if TYPE_CHECKING:
    from terminal.checkout.service import CheckoutService

__all__ = ["PartialRefundOutcome", "partial_refund", "sold_lines"]


@dataclass(frozen=True, slots=True)
class PartialRefundOutcome:
    """A committed partial refund: the reversal, and the sale of what was kept (None when every
    line was given back: then it is an ordinary full refund)."""

    reversal: Appended
    kept: Appended | None
    plan: RefundPlan


def sold_lines(service: CheckoutService, txn_id: str) -> tuple[Any, tuple[SoldLine, ...]]:
    """The sale's row and its lines, or a `CheckoutError` naming what is wrong."""
    orig = txn_of(service.ledger, txn_id)
    if orig is None:
        raise CheckoutError(
            "refund_refused", f"no sale {txn_id} on this terminal: check the receipt number"
        )
    if orig["kind"] != "sale":
        raise CheckoutError("refund_refused", f"{txn_id} is itself a refund and cannot be refunded")
    lines = tuple(
        SoldLine(int(r["line_no"]), r["code"], r["qty"], r["price"])
        for r in txn_lines(service.ledger, orig["seq"])
    )
    return orig, lines


def partial_refund(
    service: CheckoutService,
    txn_id: str,
    give_back: Mapping[int, str],
    *,
    reason: str,
    operator: str,
) -> PartialRefundOutcome:
    """Give back `give_back` (line_no → quantity) of sale `txn_id`, approved by `operator` (a
    supervisor): the reversal and the kept sale in one unit, audited, or a `CheckoutError`."""
    if not reason.strip():
        raise CheckoutError("bad_refund", "give the reason for the refund (--reason)")
    if not operator.strip():
        raise CheckoutError("bad_refund", "give the supervisor's operator id (--operator)")
    orig, lines = sold_lines(service, txn_id)
    plan = plan_refund(lines, give_back)
    if plan.full:
        return PartialRefundOutcome(
            service.refund(txn_id, reason=reason, operator=operator), None, plan
        )
    sale = _kept_sale(orig, plan)
    now = service.local_now()
    psn_cert = orig["psn_cert"]
    fresh = service.fresh_person(psn_cert)  # the network, before the write lock is taken
    try:
        with service.ledger.write() as unit:
            refused = time_refusal(service.ledger, now)
            if refused is not None:
                raise CheckoutError(*refused)
            # which packages' codes stay sold is not known; no-code stock is given back and taken
            if any(t["code"] for t in unit.trace_takes(txn_id)):
                raise CheckoutError(
                    "refund_refused",
                    f"{txn_id} sold drugs with traceability codes: a part of it cannot be given "
                    "back; refund it whole and sell the kept packages again, scanning their codes",
                )
            reversal = unit.append_reversal(
                orig_txn_id=txn_id, reason=reason, operator=operator, settled_at=now
            )
            unit.return_trace(txn_id, reversal.txn_id, now)
            # settled after the reversal gave the original's accumulators back
            settled = settle_in_unit(
                service.ledger, unit, service.held, service.limits, sale, now, fresh
            )
            if settled.refusal is not None:
                raise CheckoutRefused(settled.refusal)
            codes = service.trace_plan(unit, settled.claim, "partial refund", settled.catalogue)
            record = sale_record(sale, settled, now, operator, orig["payment_method"])
            kept = unit.append_sale(record)
            unit.record_trace(kept.txn_id, codes, now)
            unit.link_partial_refund(
                PartialRefund(txn_id, reversal.txn_id, kept.txn_id, plan.refunded, reason)
            )
            unit.audit(
                "partial_refund",
                operator,
                {
                    "txn_id": reversal.txn_id,
                    "orig_txn_id": txn_id,
                    "kept_txn_id": kept.txn_id,
                    "refunded": [list(r) for r in plan.refunded],
                    "reason": reason,
                },
                now,
            )
            unit.commit()
    except CheckoutRefused as exc:
        service.ledger.audit(
            "refusal",
            operator,
            {"refund": txn_id, "code": exc.code, "psn_cert": mask_psn_cert(psn_cert or "")},
            now,
        )
        raise
    except LedgerError as exc:
        if type(exc) is not LedgerError:
            raise
        service.ledger.audit("refusal", operator, {"refund": txn_id, "message": str(exc)}, now)
        raise CheckoutError("refund_refused", str(exc)) from None
    return PartialRefundOutcome(reversal, kept, plan)


def _kept_sale(orig: Any, plan: RefundPlan) -> SaleRequest:
    """The new sale of the kept lines: the same person, card and visit as the original."""
    identity = Identity(
        psn_cert=orig["psn_cert"],
        name=orig["psn_name"] or "",
        mdtrt_cert_type=orig["mdtrt_cert_type"],
        mdtrt_cert_no=orig["mdtrt_cert_no"],
        card_no=orig["card_no"],
        card_sn=orig["card_sn"],
    )  # no e-card token: the code was used by the original sale, and nothing is read again
    person: dict[str, Any] = {
        "psn_cert": orig["psn_cert"],
        "insutype": orig["insutype"],
        "psn_type": orig["psn_type"],
        "insuplc_admdvs": orig["insuplc_admdvs"],
        "flags": json.loads(orig["flags"] or "[]"),
    }
    if orig["psn_no"] is not None:
        person["psn_no"] = orig["psn_no"]
    # the same visit (and so the same policy year) as the sale it replaces
    visit = {
        "med_type": orig["med_type"],
        "inst_level": orig["inst_level"],
        "date": orig["visit_date"],
    }
    return SaleRequest(
        identity,
        person,
        visit,
        [dict(line) for line in plan.kept],
        None,
        "partial refund",
        name=orig["psn_name"],
    )
