"""What follows a sale at the counter: its refund (a reversal entry) and the day's closure; a
part of `CheckoutService` (`service.py`), kept apart to keep each module short."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from terminal.config import Config
from terminal.errors import CheckoutError, LedgerError
from terminal.ledger import Appended, SqliteLedger, close_day, time_refusal

__all__ = ["AfterSale"]


class AfterSale:
    """Refunds and closures of `CheckoutService` (which sets `config` and `ledger`)."""

    config: Config
    ledger: SqliteLedger

    def local_now(self) -> datetime:
        raise NotImplementedError  # CheckoutService's

    def refund(self, txn_id: str, *, reason: str, operator: str) -> Appended:
        """Reverse a sale: a new signed entry, and the person's accumulators given back."""
        if not reason.strip():
            raise CheckoutError("bad_refund", "give the reason for the refund (--reason)")
        if not operator.strip():
            raise CheckoutError("bad_refund", "give the supervisor's operator id (--operator)")
        now = self.local_now()
        try:
            with self.ledger.write() as unit:
                refused = time_refusal(self.ledger, now)  # a reversal is an entry of the chain
                if refused is not None:
                    raise CheckoutError(*refused)
                appended = unit.append_reversal(
                    orig_txn_id=txn_id, reason=reason, operator=operator, settled_at=now
                )
                unit.return_trace(txn_id, appended.txn_id, now)  # never blocks the refund
                unit.audit(
                    "refund",
                    operator,
                    {"txn_id": appended.txn_id, "orig_txn_id": txn_id, "reason": reason},
                    now,
                )
                unit.commit()
        except LedgerError as exc:
            if type(exc) is LedgerError:
                self.ledger.audit("refusal", operator, {"refund": txn_id, "message": str(exc)}, now)
                raise CheckoutError("refund_refused", str(exc)) from None
            raise
        return appended

    def close_day(self, day: date | None, operator: str | None) -> dict[str, Any]:
        """The signed closure of `day` (default: today in the region)."""
        now = self.local_now()
        day, till = day or now.date(), self.config.till.opening_float
        return close_day(self.ledger, day, operator=operator, at=now, opening_float=till)
