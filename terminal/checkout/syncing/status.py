"""What the terminal knows of its sync: the status bar's figures and a day's reconciliation
figures (platform-api.md "Reconciliation", 3201 and 3202), from the outbox and the acks."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Protocol

from sync.protocol.upload import RECONCILED_AMOUNTS
from terminal.config import Config
from terminal.ledger import (
    SqliteLedger,
    day_acknowledgements,
    outbox_summary,
    parked_entries,
    parked_trace_reports,
    rollback_state,
)
from terminal.settlement.money import format_fen, parse_money

__all__ = ["day_figures", "sync_gauges", "sync_status"]


class _Terminal(Protocol):
    """What the status reads (a checkout service or a sync service has it)."""

    @property
    def ledger(self) -> SqliteLedger: ...

    @property
    def config(self) -> Config: ...

    def local_now(self) -> datetime: ...


def sync_status(terminal: _Terminal) -> dict[str, Any]:
    """Queue depth, oldest unsynced sale, last success, parked uploads and 3505 trace reports (the
    platform refused them; `medpos sync release` puts them back), the deadline alert, and
    `rolled_back` (`{"local", "platform"}` chain heads) when the platform's chain head is ahead of
    this terminal's (its database was restored from an older copy), else None."""
    ledger = terminal.ledger
    now = terminal.local_now()
    queue, oldest = outbox_summary(ledger)
    meta = ledger.get_metas("last_sync_at", "enrolled_at", "root_public_key", "last_sync_error")
    age_h = (
        round((now - datetime.fromisoformat(oldest)).total_seconds() / 3600, 2) if oldest else None
    )
    deadline = terminal.config.platform.upload_deadline_h
    return {
        "online": meta.get("last_sync_at") is not None and not meta.get("last_sync_error"),
        "last_error": meta.get("last_sync_error") or None,
        "enrolled": "root_public_key" in meta or bool(terminal.config.platform.root_public_key),
        "queue": queue,
        "oldest_unsynced": oldest,
        "oldest_age_h": age_h,
        "last_sync_at": meta.get("last_sync_at"),
        "parked": parked_entries(ledger),
        "parked_trace_reports": parked_trace_reports(ledger),
        "rolled_back": rollback_state(ledger),
        "alert": (
            f"sales have waited {age_h} h for the platform (deadline {deadline} h): sync now"
            if age_h is not None and age_h > deadline
            else None
        ),
    }


def sync_gauges(terminal: _Terminal) -> list[tuple[str, str, float, dict[str, str]]]:
    """The terminal's figures for `/metrics` (name, help, value, labels): queue depth, the
    oldest unsynced sale's age, seconds since the last successful sync, parked entries and trace
    reports, online."""
    status = sync_status(terminal)
    now = terminal.local_now()
    gauges = [
        ("medpos_outbox_queue", "Sales and reversals waiting in the outbox", status["queue"]),
        ("medpos_outbox_parked", "Outbox entries parked for the operator", len(status["parked"])),
        (
            "medpos_trace_reports_parked",
            "3505 trace reports the platform refused, parked for the operator",
            len(status["parked_trace_reports"]),
        ),
        ("medpos_platform_online", "1 when the last sync reached the platform", status["online"]),
    ]
    if status["oldest_unsynced"]:
        age = (now - datetime.fromisoformat(status["oldest_unsynced"])).total_seconds()
        gauges.append(("medpos_outbox_oldest_age_seconds", "Age of the oldest unsynced sale", age))
    if status["last_sync_at"]:
        since = (now - datetime.fromisoformat(status["last_sync_at"])).total_seconds()
        gauges.append(
            ("medpos_last_sync_age_seconds", "Seconds since the last successful sync", since)
        )
    return [(name, help_, float(value), {}) for name, help_, value in gauges]


def day_figures(ledger: SqliteLedger, day: date) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(3201 totals, 3202 sales) of `day` as this terminal knows them from its acks."""
    totals: dict[str, Any] = {"setl_date": day.isoformat(), "count": 0}
    sums = dict.fromkeys(RECONCILED_AMOUNTS, 0)
    sales = []
    for r in day_acknowledgements(ledger, day):
        status = r["status"] or "pending"
        amounts = {k: r[k] for k in RECONCILED_AMOUNTS}
        # the split the platform kept: its own result when it adjusted the sale
        kept_from = r["platform_result"] if r["kind"] == "sale" else r["orig_result"]
        if kept_from and (r["orig_status"] if r["kind"] != "sale" else status) == "adjusted":
            setlinfo = json.loads(kept_from).get("setlinfo", {})
            amounts = {k: parse_money(setlinfo[k], k) for k in RECONCILED_AMOUNTS}
        if r["kind"] != "sale":
            amounts = {k: -v for k, v in amounts.items()}
        sales.append(
            {"txn_id": r["txn_id"], "status": status}
            | {k: format_fen(v) for k, v in amounts.items()}
        )
        if status in ("accepted", "adjusted"):
            totals["count"] += -1 if r["kind"] != "sale" else 1
            for k in RECONCILED_AMOUNTS:
                sums[k] += amounts[k]
    totals.update({k: format_fen(v) for k, v in sums.items()})
    return totals, sales
