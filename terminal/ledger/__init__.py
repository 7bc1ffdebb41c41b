"""The terminal's durable store: transactions, the signed hash chain, outbox, persons, reference
data, closures, self-pay sales and the audit log (DESIGN.md "Ledger"; platform-api.md for the
hashed content)."""

from __future__ import annotations

from typing import Any

from terminal.ledger.baskets import basket_answer, remember_basket
from terminal.ledger.closures import close_day, closure_hash, day_totals, get_closure
from terminal.ledger.dayreport import day_report
from terminal.ledger.entries import Appended, SaleRecord
from terminal.ledger.guards import insurance_refusal, rollback_state, time_refusal
from terminal.ledger.keys import DeviceKey, key_id_of
from terminal.ledger.lockout import add_pin_failure, clear_pin_failures, pin_failures
from terminal.ledger.parked import park_basket, parked_baskets, take_parked
from terminal.ledger.records import GENESIS_HASH, entry_hash
from terminal.ledger.reports import (
    day_rows,
    entry_of,
    refundable_sales,
    refundable_self_pay,
    self_pay_day_rows,
    tenders_of,
    txn_lines,
    txn_of,
    txn_with_entry,
)
from terminal.ledger.selfpay import (
    SelfPayLine,
    SelfPayRecord,
    get_self_pay,
    record_self_pay,
    refund_self_pay,
    refund_self_pay_part,
)
from terminal.ledger.store import RefData, SqliteLedger
from terminal.ledger.syncstate import (
    day_acknowledgements,
    due_entries,
    has_expired_replay,
    last_acked_entry,
    outbox_summary,
    parked_entries,
    retry_pending_now,
)
from terminal.ledger.trace import trace_of_txn as _trace_of_txn
from terminal.ledger.tracereports import (
    due_trace_reports,
    parked_trace_reports,
    trace_report_state,
)
from terminal.ledger.unit import WriteUnit
from terminal.ledger.verify import VerifyReport, report_text, verify_ledger, verify_platform

__all__ = [
    "GENESIS_HASH",
    "Appended",
    "DeviceKey",
    "RefData",
    "SaleRecord",
    "SelfPayLine",
    "SelfPayRecord",
    "SqliteLedger",
    "VerifyReport",
    "WriteUnit",
    "due_trace_reports",
    "parked_trace_reports",
    "trace_report_state",
    "trace_takes",
    "add_pin_failure",
    "basket_answer",
    "clear_pin_failures",
    "close_day",
    "closure_hash",
    "day_acknowledgements",
    "day_report",
    "day_rows",
    "day_totals",
    "due_entries",
    "entry_hash",
    "entry_of",
    "get_closure",
    "get_self_pay",
    "has_expired_replay",
    "insurance_refusal",
    "key_id_of",
    "last_acked_entry",
    "outbox_summary",
    "park_basket",
    "parked_baskets",
    "parked_entries",
    "pin_failures",
    "record_self_pay",
    "refund_self_pay",
    "refund_self_pay_part",
    "refundable_sales",
    "refundable_self_pay",
    "remember_basket",
    "report_text",
    "retry_pending_now",
    "rollback_state",
    "self_pay_day_rows",
    "take_parked",
    "tenders_of",
    "time_refusal",
    "txn_lines",
    "txn_of",
    "txn_with_entry",
    "verify_ledger",
    "verify_platform",
]


def trace_takes(ledger: SqliteLedger, txn_id: str) -> list[dict[str, Any]]:
    """What sale `txn_id` took of codes and no-code stock (`terminal/ledger/trace.py`)."""
    return _trace_of_txn(ledger.conn, txn_id)
