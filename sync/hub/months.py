"""The monthly range partitions of the platform's big tables on PostgreSQL (docs/scale.md
"Partitioning and retention"): `entries` by `setl_date` ("yyyy-mm-dd"), `trace_codes` by
`sold_month` (yyyymm). Nothing here runs on SQLite, where each is one plain table.

A month's partition `<table>_yyyymm` is made by `CREATE TABLE … (LIKE <table>)` and `ATTACH
PARTITION`, which locks the partitioned table SHARE UPDATE EXCLUSIVE: sales go on being stored
and read meanwhile (`CREATE TABLE … PARTITION OF` takes ACCESS EXCLUSIVE, and waited 2.0 s
behind one inserting transaction while holding up the next ones). A transaction-level advisory
lock per partition makes two hub processes make it once. There is no DEFAULT partition:
attaching a month beside one locks it ACCESS EXCLUSIVE and scans it.

Months are made ahead by each hub process (`keep_ahead`, this month and the next, checked once
a month), by `medpos hub partitions --ahead N`, and on demand (`ensure`) inside a message's
savepoint when a sale's month has none, so that no insert fails for want of one. A partition made
in a savepoint that is rolled back goes with it: the insert that then meets no partition calls
`forget`, and the message is answered again (the hub retries on an integrity error), which makes
it.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

__all__ = ["ENTRIES", "TRACE_CODES", "Monthly", "create_ahead", "ensure", "forget", "keep_ahead"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Monthly:
    """A table partitioned by month: its name, and the SQL bounds of a month ("yyyymm")."""

    table: str
    bounds: Callable[[str], tuple[str, str]]  # "yyyymm" → (FROM, TO) as SQL literals

    def partition(self, month: str) -> str:
        if not (len(month) == 6 and month.isdigit() and 1 <= int(month[4:]) <= 12):
            raise ValueError(f"{self.table} partition month {month!r}: give yyyymm")
        return f"{self.table}_{month}"


def next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[4:])
    return f"{year + 1:04d}01" if mon == 12 else f"{year:04d}{mon + 1:02d}"


def _date_bounds(month: str) -> tuple[str, str]:
    upper = next_month(month)
    return f"'{month[:4]}-{month[4:]}-01'", f"'{upper[:4]}-{upper[4:]}-01'"


ENTRIES = Monthly("entries", _date_bounds)
TRACE_CODES = Monthly("trace_codes", lambda month: (month, next_month(month)))
AHEAD = 2  # keep_ahead: this month and the next

# (engine url, table, "yyyymm") of the partitions this process knows are attached
_known: set[tuple[str, str, str]] = set()
# engine url → the "yyyymm" this process last made partitions ahead for
_ahead: dict[str, str] = {}


def ensure(conn: Connection, monthly: Monthly, month: str) -> None:
    """The partition of `month` is attached (in this transaction when it was not)."""
    if conn.dialect.name != "postgresql":
        return
    key = (str(conn.engine.url), monthly.table, month)
    if key not in _known:
        _attach(conn, monthly, month)
        _known.add(key)


def forget(conn: Connection, monthly: Monthly, month: str) -> None:
    """An insert met no partition for `month` (made in a savepoint since rolled back, or
    detached): the next `ensure` makes it again."""
    _known.discard((str(conn.engine.url), monthly.table, month))


def create_ahead(
    engine: Engine, tables: Iterable[Monthly], first: date, months: int
) -> dict[str, list[str]]:
    """The partitions of `months` months from `first`'s attached now, in one transaction of its
    own; their names by table. Nothing on SQLite."""
    if engine.dialect.name != "postgresql":
        return {m.table: [] for m in tables}
    made: dict[str, list[str]] = {}
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
        for monthly in tables:
            month = f"{first.year:04d}{first.month:02d}"
            made[monthly.table] = []
            for _ in range(months):
                _attach(conn, monthly, month)
                made[monthly.table].append(monthly.partition(month))
                month = next_month(month)
    url = str(engine.url)
    _known.update(
        (url, table, name.removeprefix(table + "_")) for table, names in made.items()
        for name in names
    )  # fmt: skip
    return made


def keep_ahead(engine: Engine, today: date) -> None:
    """This month's partitions and the next one's, of every partitioned table; checked once per
    month per process, in a transaction of its own (never a sale's). A failure is logged, not
    raised: `ensure` still makes a month when its first sale comes."""
    if engine.dialect.name != "postgresql":
        return
    url, month = str(engine.url), f"{today.year:04d}{today.month:02d}"
    if _ahead.get(url) == month:
        return
    _ahead[url] = month
    try:
        create_ahead(engine, (ENTRIES, TRACE_CODES), today, AHEAD)
    except DBAPIError as exc:  # (a lock held long by another transaction: lock_timeout)
        log.warning("the partitions ahead of %s were not made: %s", month, exc.orig)


def _attach(conn: Connection, monthly: Monthly, month: str) -> None:
    """Make `<table>_<month>` a partition of the table unless it is one (the caller's
    transaction; serialised between processes on an advisory lock for the partition)."""
    name, table = monthly.partition(month), monthly.table  # digits only (checked)
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (zlib.crc32(name.encode()),))
    found = conn.exec_driver_sql(
        "SELECT c.oid IS NOT NULL, EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid "
        "AND i.inhparent = %s::regclass) FROM (SELECT to_regclass(%s) AS oid) AS c",
        (table, name),
    ).one()
    if found[1]:
        return
    if not found[0]:  # (a table of that name not attached: one detached, attached back)
        conn.exec_driver_sql(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)")
    lower, upper = monthly.bounds(month)
    conn.exec_driver_sql(
        f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({lower}) TO ({upper})"
    )
