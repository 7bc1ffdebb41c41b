"""The ledger's side of bundles (platform-api.md "Field and fleet additions"; docs/field.md):
what the outbox holds for a bundle, which bundles were written, which answers imported.

The acknowledgements an answer carries are stored by the same `WriteUnit` methods as those that
came over HTTP; `mark_answer` records the answer in that very unit of work.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from terminal.ledger.store import SqliteLedger
from terminal.ledger.unit import WriteUnit

__all__ = [
    "answer_imported",
    "bundle_status",
    "mark_answer",
    "outbox_attempts",
    "queued_entries",
    "record_bundle",
    "written_bundles",
]


def queued_entries(ledger: SqliteLedger) -> list[sqlite3.Row]:
    """Every pending outbox entry whatever its backoff, in seq order: `txn_id`, `kind`,
    `attempts`, `med_type`, `orig_med_type` (parked entries wait for a supervisor)."""
    return ledger.query(
        "SELECT o.txn_id, o.kind, o.attempts, t.med_type, r.med_type AS orig_med_type "
        "FROM outbox o JOIN txns t ON t.txn_id = o.txn_id "
        "LEFT JOIN txns r ON r.txn_id = t.orig_txn_id "
        "WHERE o.state = 'pending' ORDER BY o.seq"
    )


def outbox_attempts(ledger: SqliteLedger, txn_ids: Sequence[str]) -> dict[str, int]:
    """`txn_id → attempts` of those of `txn_ids` still in the outbox."""
    rows = ledger.query("SELECT txn_id, attempts FROM outbox")
    wanted = set(txn_ids)
    return {r["txn_id"]: int(r["attempts"]) for r in rows if r["txn_id"] in wanted}


def record_bundle(
    ledger: SqliteLedger, sha256: str, file: str, at: datetime, entries: Sequence[tuple[str, str]]
) -> None:
    """Remember a bundle written to `file`: its `(txn_id, infno)` in message order."""
    with ledger.write() as unit:
        ledger.conn.execute(
            "INSERT OR REPLACE INTO bundles (sha256, file, written_at, entries) "
            "VALUES (?, ?, ?, ?)",
            (
                sha256,
                file,
                at.isoformat(timespec="seconds"),
                json.dumps([list(e) for e in entries]),
            ),
        )
        unit.commit()


def written_bundles(ledger: SqliteLedger) -> list[dict[str, Any]]:
    """The bundles written, newest first: `sha256`, `file`, `written_at`, `entries`."""
    return [
        {**dict(r), "entries": [tuple(e) for e in json.loads(r["entries"])]}
        for r in ledger.query(
            "SELECT sha256, file, written_at, entries FROM bundles ORDER BY written_at DESC"
        )
    ]


def answer_imported(ledger: SqliteLedger, sha256: str) -> bool:
    """True when the answer with this `sha256` was imported already."""
    return bool(ledger.query("SELECT 1 FROM bundle_answers WHERE sha256 = ?", (sha256,)))


def mark_answer(
    unit: WriteUnit,
    ledger: SqliteLedger,
    sha256: str,
    *,
    imported_at: datetime,
    answered_at: datetime,
    bundle: str | None,
) -> None:
    """Record, in `unit`, that the answer `sha256` (to the bundle `bundle`, when known) was
    imported."""
    ledger.conn.execute(
        "INSERT OR IGNORE INTO bundle_answers (sha256, imported_at, answered_at, bundle) "
        "VALUES (?, ?, ?, ?)",
        (
            sha256,
            imported_at.isoformat(timespec="seconds"),
            answered_at.isoformat(timespec="seconds"),
            bundle,
        ),
    )


def bundle_status(ledger: SqliteLedger) -> dict[str, Any]:
    """`{"written": {"file", "at", "messages"} | None, "answered": {"at", "imported_at",
    "file"} | None}`: the last bundle written, the last answer imported."""
    written = ledger.query(
        "SELECT file, written_at, json_array_length(entries) AS n FROM bundles "
        "ORDER BY written_at DESC LIMIT 1"
    )
    answered = ledger.query(
        "SELECT a.answered_at, a.imported_at, b.file FROM bundle_answers a "
        "LEFT JOIN bundles b ON b.sha256 = a.bundle ORDER BY a.imported_at DESC LIMIT 1"
    )
    return {
        "written": {
            "file": written[0]["file"],
            "at": written[0]["written_at"],
            "messages": written[0]["n"],
        }
        if written
        else None,
        "answered": {
            "at": answered[0]["answered_at"],
            "imported_at": answered[0]["imported_at"],
            "file": answered[0]["file"],
        }
        if answered
        else None,
    }
