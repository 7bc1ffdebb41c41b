"""What a sale checks in its own unit of work before it may be written (platform-api.md "Trust
rules"; docs/core.md "Time and the chain head").

- Time runs forward: no sale, refund or self-pay sale while the clock reads earlier than the last
  entry of the sales chain or of the self-pay sales (`clock_went_back`), and none dated into a
  day whose closure is signed (`day_closed`).
- An insurance sale also stops when the platform's chain head is ahead of this terminal's own
  head, or differs from the entry at its seq (`rolled_back`: the database was restored from an
  older copy), and when an enrolled terminal still prices with the locally seeded reference data
  (version 0) because no refresh from the platform has succeeded yet (`refdata_not_fetched`).

Each check returns `(code, message)` or None; the caller turns it into its refusal.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from terminal.ledger.store import SqliteLedger

__all__ = ["insurance_refusal", "rollback_state", "time_refusal"]


def _seconds(at: datetime) -> str:
    return at.isoformat(" ", "seconds")[:19]


def time_refusal(ledger: SqliteLedger, now: datetime) -> tuple[str, str] | None:
    """`clock_went_back` or `day_closed` for an entry dated `now` (region time), or None."""
    conn = ledger.conn
    last = max(
        (
            row[0]
            for row in (
                conn.execute("SELECT settled_at FROM txns ORDER BY seq DESC LIMIT 1").fetchone(),
                conn.execute(
                    "SELECT settled_at FROM self_pay_sales ORDER BY id DESC LIMIT 1"
                ).fetchone(),
            )
            if row is not None
        ),
        default=None,
    )
    stamp = _seconds(now)
    if last is not None and stamp < last:
        return (
            "clock_went_back",
            f"the clock went back: fix the time (it reads {stamp}, the last sale was made at "
            f"{last})",
        )
    closed = conn.execute("SELECT MAX(setl_date) FROM closures").fetchone()[0]
    if closed is not None and now.date().isoformat() <= closed:
        return (
            "day_closed",
            f"{closed} is closed (its closure is signed): a sale cannot be dated into a closed "
            f"day; the clock reads {stamp}: fix the date",
        )
    return None


def rollback_state(ledger: SqliteLedger) -> dict[str, Any] | None:
    """`{"local": {seq, hash}, "platform": {seq, hash}}` when the platform's chain head (from the
    last acknowledgement) is ahead of this ledger's head or differs from its entry; else None."""
    stored = ledger.conn.execute("SELECT value FROM meta WHERE key = 'platform_head'").fetchone()
    if stored is None:
        return None
    platform = json.loads(stored[0])
    seq, digest = ledger.head()
    local = {"seq": seq, "hash": digest}
    if platform["seq"] > seq:
        return {"local": local, "platform": platform}
    if platform["seq"] > 0:
        row = ledger.conn.execute(
            "SELECT hash FROM ledger WHERE seq = ?", (platform["seq"],)
        ).fetchone()
        if row is None or row[0] != platform["hash"]:
            return {"local": local, "platform": platform}
    return None


def insurance_refusal(
    ledger: SqliteLedger, now: datetime, catalogue_version: int
) -> tuple[str, str] | None:
    """What stops an insurance sale before it is settled (time, rollback, seeded data), or None."""
    refused = time_refusal(ledger, now)
    if refused is not None:
        return refused
    rolled = rollback_state(ledger)
    if rolled is not None:
        return (
            "rolled_back",
            "this database is older than what the platform holds (the platform's chain head is "
            f"seq {rolled['platform']['seq']}, this terminal's is seq {rolled['local']['seq']}): "
            "it was restored from an older copy. Insurance sales stop until the current "
            "database is restored; self-pay sales still work",
        )
    if catalogue_version == 0:
        meta = ledger.get_metas("enrolled_at", "refdata_refreshed_at")
        if "enrolled_at" in meta and "refdata_refreshed_at" not in meta:
            return (
                "refdata_not_fetched",
                "this terminal is enrolled but still prices with the locally seeded reference "
                "data: sync with the platform first (`medpos sync --once`); self-pay sales "
                "still work",
            )
    return None
