"""Storing an entry, and the monthly partitions of `entries` on PostgreSQL (docs/scale.md
"Partitioning and retention").

An entry is two rows written in one savepoint: its keys in `entry_keys` (the `txn_id` and `(dev_no,
seq)` that make it unique, unpartitioned) and the entry in `entries`. On PostgreSQL `entries` is
partitioned by range of `setl_date`, a partition `entries_yyyymm` a month, and no DEFAULT
partition. A month's partition is made:
- by the migration (every month held, and from last month to three ahead);
- by each hub process ahead of need (`keep_ahead`: this month and the next, checked once a month
  per process, before a batch's transaction begins);
- on demand (`ensure_month`), inside the message's savepoint, when a sale's month has none (a
  sale months old from a terminal back from the field, a device's clock far off): so no insert
  ever fails for want of one. `medpos hub partitions --ahead N` makes more ahead.

Each is made by `CREATE TABLE … (LIKE entries)` and `ATTACH PARTITION`, which locks the partitioned
table SHARE UPDATE EXCLUSIVE: sales go on being stored and read meanwhile (`CREATE TABLE …
PARTITION OF` would take ACCESS EXCLUSIVE and wait for every batch in flight while holding up the
next ones). A transaction-level advisory lock per month makes two hub processes make it once.
There is no DEFAULT partition because attaching a month beside one locks the default ACCESS
EXCLUSIVE and scans it, and every lookup not pruned at plan time holds a lock on it: the stall
this design avoids. A partition made in a savepoint that is rolled back goes with it: an insert
that meets no partition drops the process's note of the month and raises (the hub answers the
message again, which makes it).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from sync.hub import statements as q

__all__ = [
    "Archived",
    "create_months",
    "ensure_month",
    "insert_entry",
    "keep_ahead",
    "month_range",
    "stored_ack",
    "stored_acks",
]

log = logging.getLogger(__name__)

# (engine url, "yyyymm") of the partitions this process knows are attached
_known: set[tuple[str, str]] = set()
# engine url → the "yyyymm" this process last made partitions ahead for
_ahead: dict[str, str] = {}
AHEAD = 2  # keep_ahead: this month and the next
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
            _known.discard((_url(conn), _month(values["setl_date"])))
        raise


def ensure_month(conn: Connection, setl_date: str) -> None:
    """PostgreSQL: the partition of `setl_date`'s month is attached (in this transaction when it
    was not). Nothing on SQLite, where `entries` is one plain table."""
    if conn.dialect.name != "postgresql":
        return
    month = _month(setl_date)
    if (_url(conn), month) not in _known:
        _attach(conn, month)
        _known.add((_url(conn), month))


def keep_ahead(engine: Engine, today: date) -> None:
    """PostgreSQL: this month's partition and the next one's are attached; checked once per
    month per process, in a transaction of its own (never a sale's). A failure is logged, not
    raised: `ensure_month` still makes a month when its first sale comes."""
    if engine.dialect.name != "postgresql":
        return
    url, month = str(engine.url), f"{today.year:04d}{today.month:02d}"
    if _ahead.get(url) == month:
        return
    _ahead[url] = month
    try:
        create_months(engine, today, AHEAD)
    except DBAPIError as exc:  # (a lock held long by another transaction: lock_timeout)
        log.warning("entries: the partitions ahead of %s were not made: %s", month, exc.orig)


def create_months(engine: Engine, first: date, months: int) -> list[str]:
    """PostgreSQL: the partitions of `months` months from `first`'s attached now, one
    transaction; their names. Nothing on SQLite."""
    if engine.dialect.name != "postgresql":
        return []
    names = []
    year, mon = first.year, first.month
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
        for _ in range(months):
            month = f"{year:04d}{mon:02d}"
            _attach(conn, month)
            names.append(f"entries_{month}")
            year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    _known.update((str(engine.url), n.removeprefix("entries_")) for n in names)
    return names


def month_range(month: str) -> tuple[str, str]:
    """The bounds of partition `month` ("yyyymm"): ("yyyy-mm-01", the next month's first)."""
    year, mon = int(month[:4]), int(month[4:])
    upper = f"{year + 1:04d}-01-01" if mon == 12 else f"{year:04d}-{mon + 1:02d}-01"
    return f"{year:04d}-{mon:02d}-01", upper


def _attach(conn: Connection, month: str) -> None:
    """Make `entries_<month>` a partition of `entries` unless it is one (the caller's
    transaction; serialised between processes on an advisory lock for the month)."""
    if not (len(month) == 6 and month.isdigit()):
        raise ValueError(f"entries partition month {month!r}: give yyyymm")
    name = f"entries_{month}"
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (zlib.crc32(name.encode()),))
    found = conn.exec_driver_sql(
        "SELECT c.oid IS NOT NULL, EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid "
        "AND i.inhparent = 'entries'::regclass) FROM (SELECT to_regclass(%s) AS oid) AS c",
        (name,),
    ).one()
    if found[1]:
        return
    if not found[0]:  # (a table of that name not attached: one detached, attached back)
        conn.exec_driver_sql(f"CREATE TABLE {name} (LIKE entries INCLUDING DEFAULTS)")
    lower, upper = month_range(month)
    conn.exec_driver_sql(
        f"ALTER TABLE entries ATTACH PARTITION {name} "  # digits only (checked above)
        f"FOR VALUES FROM ('{lower}') TO ('{upper}')"
    )


def _month(setl_date: str) -> str:
    return setl_date[:4] + setl_date[5:7]


def _url(conn: Connection) -> str:
    return str(conn.engine.url)
