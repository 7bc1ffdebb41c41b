"""The 9201 heartbeat (platform-api.md "Field and fleet additions"): what this device tells the
platform of itself every sync pass, and at least hourly when online, for the fleet console.

`offline_since` is present when the last attempt to reach the platform failed (a heartbeat
carried in a bundle): the time of the last successful sync, or of enrolment when there was none.
Sent over HTTP after a successful drain, a heartbeat has no `offline_since`.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sync.protocol.envelope import INF_TIME_FORMAT
from terminal.appversion import app_version
from terminal.ledger import SqliteLedger, outbox_summary, parked_entries

__all__ = ["HEARTBEAT_INFNO", "HEARTBEAT_MAX_INTERVAL_S", "heartbeat_input"]

HEARTBEAT_INFNO = "9201"
# "at least hourly when online": the longest a sync loop waits between two passes
HEARTBEAT_MAX_INTERVAL_S = 3600.0


def heartbeat_input(ledger: SqliteLedger, tz: tzinfo) -> dict[str, Any]:
    """The 9201 input of this device now, read from its ledger (times in the region's `tz`)."""
    queue, oldest = outbox_summary(ledger)
    seq, hash_ = ledger.head()
    meta = ledger.get_metas("last_sync_at", "last_sync_error", "enrolled_at")
    data: dict[str, Any] = {
        "queue": queue,
        "parked": len(parked_entries(ledger)),
        "chain_head": {"seq": seq, "hash": hash_},
        "refdata": {kind: held[0] for kind, held in ledger.refdata_versions().items()},
        "app_version": app_version(),
    }
    if oldest:
        data["oldest_unsynced_at"] = _local(oldest, tz)
    if meta.get("last_sync_error"):
        since = meta.get("last_sync_at") or meta.get("enrolled_at")
        if since:
            data["offline_since"] = _local(since, tz)
    return data


def _local(iso: str, tz: tzinfo) -> str:
    """An ISO time the ledger wrote as `yyyy-MM-dd HH:mm:ss` in `tz`."""
    at = datetime.fromisoformat(iso)
    if at.tzinfo is not None:
        at = at.astimezone(tz)
    return at.strftime(INF_TIME_FORMAT)
