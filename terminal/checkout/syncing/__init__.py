"""Store-and-forward with the platform (DESIGN.md "A transaction's life", step 5): the sync
service (`service.py`), the outbox drain and its decisions (`drain.py`), and the status and
reconciliation figures read from the ledger (`status.py`), the 9201 heartbeat (`heartbeat.py`)."""

from __future__ import annotations

from terminal.checkout.syncing.drain import DrainReport, OutboxDrain, Transport
from terminal.checkout.syncing.heartbeat import HEARTBEAT_MAX_INTERVAL_S, heartbeat_input
from terminal.checkout.syncing.service import SyncService
from terminal.checkout.syncing.status import day_figures, sync_gauges, sync_status

__all__ = [
    "HEARTBEAT_MAX_INTERVAL_S",
    "DrainReport",
    "OutboxDrain",
    "SyncService",
    "Transport",
    "day_figures",
    "heartbeat_input",
    "sync_gauges",
    "sync_status",
]
