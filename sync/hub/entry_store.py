"""Storing an entry, and the monthly partitions of `entries` on PostgreSQL (docs/scale.md
"Partitioning and retention").

An entry is two rows written in one savepoint: its keys in `entry_keys` (the `txn_id` and `(dev_no,
seq)` that make it unique, unpartitioned) and the entry in `entries`. On PostgreSQL `entries` is
partitioned by range of `setl_date`, a partition `entries_yyyymm` a month, made as
`sync/hub/months.py` says (ahead of need, and on demand inside the message's savepoint), with no
DEFAULT partition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from sync.hub import months
from sync.hub import statements as q

__all__ = [
    "Archived",
    "ensure_month",
    "insert_entry",
    "stored_ack",
    "stored_acks",
]


_KEY_COLUMNS = ("txn_id", "dev_no", "seq", "setl_date")


@dataclass(frozen=True, slots=True)
class Archived:
    """An entry whose keys are stored but whose month's partition was detached (docs/scale.md
    "Partitioning and retention"): stored once, its outcome no longer here to answer with."""

    txn_id: str
    setl_date: str


def stored_ack(conn: Connection, txn_id: str) -> Any:
    """What the acknowledgement of stored entry `txn_id` is made of (`statements.ENTRY_ACK`'s
    row), `Archived`, or None when it is not stored: its keys, then its one partition."""
    setl_date = q.ENTRY_KEY.scalar(conn, {"txn_id": txn_id})
    if setl_date is None:
        return None
    row = q.ENTRY_ACK.first(conn, {"txn_id": txn_id, "setl_date": setl_date})
    return row if row is not None else Archived(txn_id, setl_date)


def stored_acks(conn: Connection, txn_ids: Sequence[str]) -> dict[str, Any]:
    """`stored_ack` of each of `txn_ids`, in two statements: their keys, then the entries of
    the keys found, from the partitions of their months."""
    keys = {r.txn_id: r.setl_date for r in conn.execute(q.ENTRY_KEYS, {"txn_ids": list(txn_ids)})}
    found: dict[str, Any] = {}
    if keys:
        dates = sorted(set(keys.values()))
        for row in conn.execute(q.ENTRY_ACKS, {"txn_ids": list(keys), "dates": dates}):
            if keys[row.txn_id] == row.setl_date:
                found[row.txn_id] = row
    return {t: found.get(t) or (Archived(t, keys[t]) if t in keys else None) for t in txn_ids}


def insert_entry(conn: Connection, values: Mapping[str, Any]) -> None:
    """Store an entry (every column of `entries` in `values`) and its keys; IntegrityError
    when its `txn_id` or `(dev_no, seq)` is stored already."""
    q.INSERT_ENTRY_KEY.run(conn, {k: values[k] for k in _KEY_COLUMNS})
    ensure_month(conn, values["setl_date"])
    try:
        q.INSERT_ENTRY.run(conn, values)
    except IntegrityError as exc:
        if "no partition" in str(exc.orig):  # made in a savepoint since rolled back, detached
            months.forget(conn, months.ENTRIES, _month(values["setl_date"]))
        raise


def ensure_month(conn: Connection, setl_date: str) -> None:
    """PostgreSQL: the partition of `setl_date`'s month is attached (in this transaction when it
    was not). Nothing on SQLite, where `entries` is one plain table."""
    months.ensure(conn, months.ENTRIES, _month(setl_date))


def _month(setl_date: str) -> str:
    return setl_date[:4] + setl_date[5:7]
