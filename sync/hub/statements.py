"""The statements of the platform's per-message path: SQLAlchemy Core, compiled once per dialect
and run on the connection's DBAPI cursor.

Building `select(...).where(...)` for each message cost three times the statement's execution
on SQLite, and SQLAlchemy's execution of a cached statement still five times the DBAPI call (a
SAVEPOINT, which it compiles afresh every time, more). A `Statement` keeps the SQL SQLAlchemy
compiled for the dialect and sends it with its parameters to the cursor of the same DBAPI
connection, so it runs inside the transaction the `Connection` began; a driver error is raised
as SQLAlchemy's (`IntegrityError`, `OperationalError`), as from `Connection.execute`. Rows are
named tuples (`row.status`). Statements with an expanding `IN` (one per batch) and everything
outside the per-message path (administration, reconciliation, refdata) go through
`Connection.execute` as usual.
"""

from __future__ import annotations

import contextlib
from collections import namedtuple
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, ColumnClause, Select

from sync.hub import schema as t

__all__ = [
    "ACCUMULATORS",
    "ACCUMULATORS_FOR_UPDATE",
    "DEVICE",
    "DEVICE_FOR_UPDATE",
    "ENTRY_ACK",
    "ENTRY_ACKS",
    "ENTRY_AT",
    "ENTRY_BY_TXN",
    "ENTRY_KEY",
    "ENTRY_KEYS",
    "FINISH_ENTRY",
    "HELD_FOR_GAP",
    "HOTLIST_VERSIONS",
    "INSERT_ACCUMULATORS",
    "INSERT_ENTRY",
    "INSERT_ENTRY_KEY",
    "INSERT_MESSAGE",
    "INSERT_PERSON",
    "LINK_AT",
    "MARK_REVERSED",
    "MESSAGE",
    "MESSAGES_OF",
    "ORIGINAL_LOCK",
    "PERSON",
    "REFDATA_BODY",
    "Statement",
    "UPDATE_ACCUMULATORS",
    "WAITING_REVERSAL",
    "run_sql",
]


class Statement:
    """A Core statement compiled once per dialect, run on the connection's DBAPI cursor."""

    __slots__ = ("_compiled", "_row", "_stmt")

    def __init__(self, stmt: ClauseElement) -> None:
        self._stmt = stmt
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}
        names = list(stmt.selected_columns.keys()) if isinstance(stmt, Select) else []
        self._row: Any = namedtuple("Row", names) if names else None

    def _sql(self, conn: Connection) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        """(SQL, parameter names in order for a positional paramstyle, values bound in the
        statement itself such as a LIMIT's) for this connection's dialect."""
        dialect = conn.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            c = self._stmt.compile(dialect=dialect)
            assert isinstance(c, SQLCompiler)
            fixed = {k: b.value for k, b in c.binds.items() if b.value is not None}
            order = tuple(c.positiontup) if c.positional and c.positiontup is not None else None
            compiled = self._compiled[dialect.name] = (c.string, order, fixed)
        return compiled

    def bound(self, conn: Connection, params: Mapping[str, Any]) -> tuple[str, Any]:
        """(SQL, DBAPI arguments) as sent on `conn` with `params` (bench/explain.py plans it)."""
        sql, order, fixed = self._sql(conn)
        values = {**fixed, **params} if fixed else params
        args: Any = tuple(values[n] for n in order) if order is not None else values
        return sql, args

    def _cursor(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        return run_sql(conn, *self.bound(conn, params))

    def run(self, conn: Connection, params: Mapping[str, Any]) -> None:
        """Execute (an INSERT, UPDATE or lock)."""
        self._cursor(conn, params).close()

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """The first row, None when there is none."""
        cursor = self._cursor(conn, params)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None or self._row is None else self._row._make(row)

    def all(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        cursor = self._cursor(conn, params)
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return [self._row._make(r) for r in rows] if self._row is not None else []

    def scalar(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, None when there is none."""
        row = self.first(conn, params)
        return None if row is None else row[0]


def run_sql(conn: Connection, sql: str, args: Any = ()) -> Any:
    """`sql` on the connection's DBAPI cursor, in its transaction; the cursor. A driver error
    is raised as SQLAlchemy raises it (IntegrityError, OperationalError, …)."""
    dialect, dbapi = conn.dialect, conn.dialect.dbapi
    assert dbapi is not None
    raw = conn.connection.dbapi_connection
    cursor = raw.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, args)
    except dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, raw, cursor)
        with contextlib.suppress(dbapi.Error):
            cursor.close()
        if lost:  # as SQLAlchemy does: the pool will not hand this connection out again
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql, args, exc, dbapi.Error, connection_invalidated=lost, dialect=dialect
        ) from exc
    return cursor


_e = t.entries.c
_held: ColumnClause[Any] = literal_column("'held'")

DEVICE = Statement(select(t.devices).where(t.devices.c.dev_no == bindparam("dev_no")))
# PostgreSQL: a device's entries, one transaction at a time
DEVICE_FOR_UPDATE = Statement(
    select(t.devices.c.dev_no).where(t.devices.c.dev_no == bindparam("dev_no")).with_for_update()
)

MESSAGE = Statement(
    select(t.messages.c.input_hash, t.messages.c.response).where(
        and_(t.messages.c.dev_no == bindparam("dev_no"), t.messages.c.msgid == bindparam("msgid"))
    )
)
MESSAGES_OF = select(  # (Connection.execute: the IN list expands)
    t.messages.c.msgid, t.messages.c.input_hash, t.messages.c.response
).where(
    and_(
        t.messages.c.dev_no == bindparam("dev_no"),
        t.messages.c.msgid.in_(bindparam("msgids", expanding=True)),
    )
)
INSERT_MESSAGE = Statement(insert(t.messages))

# Entries are found through `entry_keys` (unpartitioned, unique on txn_id and on (dev_no, seq)),
# then read by their key (txn_id, setl_date): on PostgreSQL from the one partition of the entry's
# month, pruned when the statement is planned or as it runs (bench/explain.py shows the plans).
# By txn_id the keys come first in a statement of their own (sync/hub/entry_store.py): a join
# with the txn_id given would have the planner probe every month's primary key for it.
_k = t.entry_keys.c
_KEYED = t.entry_keys.join(t.entries, and_(_e.txn_id == _k.txn_id, _e.setl_date == _k.setl_date))
ENTRY_KEY = Statement(select(_k.setl_date).where(_k.txn_id == bindparam("txn_id")))
ENTRY_KEYS = select(_k.txn_id, _k.setl_date).where(  # (Connection.execute: the IN list expands)
    _k.txn_id.in_(bindparam("txn_ids", expanding=True))
)
# what an acknowledgement is made of, and what tells the same input from another
_ACK_COLUMNS = (
    _e.txn_id,
    _e.setl_id,
    _e.status,
    _e.reason,
    _e.result,
    _e.input_hash,
    _e.flags,
    _e.setl_date,
)
ENTRY_ACK = Statement(
    select(*_ACK_COLUMNS).where(
        and_(_e.txn_id == bindparam("txn_id"), _e.setl_date == bindparam("setl_date"))
    )
)
ENTRY_ACKS = select(*_ACK_COLUMNS).where(  # (the months of the keys found: their partitions)
    and_(
        _e.txn_id.in_(bindparam("txn_ids", expanding=True)),
        _e.setl_date.in_(bindparam("dates", expanding=True)),
    )
)
# one statement: the key's date is a sub-select, which prunes the partitions as it runs
ENTRY_BY_TXN = Statement(
    select(t.entries).where(
        and_(
            _e.txn_id == bindparam("txn_id"),
            _e.setl_date
            == select(_k.setl_date).where(_k.txn_id == bindparam("txn_id")).scalar_subquery(),
        )
    )
)
_AT = and_(_k.dev_no == bindparam("dev_no"), _k.seq == bindparam("seq"))
ENTRY_AT = Statement(select(t.entries).select_from(_KEYED).where(_AT))
LINK_AT = Statement(
    select(_e.hash, _e.status, _e.reason, _e.settled_at).select_from(_KEYED).where(_AT)
)
# the device's chain head: the last seq (and its hash) stored (platform-api.md "Trust rules")
CHAIN_HEAD = Statement(
    select(_k.seq, _e.hash)
    .select_from(_KEYED)
    .where(_k.dev_no == bindparam("dev_no"))
    .order_by(_k.seq.desc())
    .limit(1)
)
HELD_FOR_GAP = Statement(
    select(_e.seq)
    .where(and_(_e.dev_no == bindparam("dev_no"), _e.status == _held, _e.reason.is_(None)))
    .limit(1)
)
WAITING_REVERSAL = Statement(
    select(t.entries)
    .where(
        and_(
            _e.orig_txn_id == bindparam("txn_id"),
            _e.status == _held,
            _e.reason == literal_column("'original'"),
        )
    )
    .limit(1)
)
INSERT_ENTRY_KEY = Statement(insert(t.entry_keys))
INSERT_ENTRY = Statement(insert(t.entries))  # every column given, None for NULL
# an entry by its key (txn_id, setl_date): one partition on PostgreSQL
_KEY = and_(_e.txn_id == bindparam("key"), _e.setl_date == bindparam("key_date"))
FINISH_ENTRY = Statement(
    update(t.entries)
    .where(_KEY)
    .values(
        status=bindparam("status"),
        reason=bindparam("reason"),
        result=bindparam("result"),
        kept=bindparam("kept"),
        accumulators=bindparam("accumulators"),
    )
)
MARK_REVERSED = Statement(
    update(t.entries).where(_KEY).values(reversed_by=bindparam("reversed_by"))
)
# PostgreSQL: a transaction-level advisory lock (released at commit or rollback)
ORIGINAL_LOCK = Statement(select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger))))

PERSON = Statement(select(t.persons.c.person).where(t.persons.c.psn_cert == bindparam("psn_cert")))
INSERT_PERSON = Statement(insert(t.persons))

_acc = t.accumulators.c
_ACC = select(_acc.body).where(
    and_(_acc.psn_cert == bindparam("psn_cert"), _acc.year == bindparam("year"))
)
ACCUMULATORS = Statement(_ACC)
ACCUMULATORS_FOR_UPDATE = Statement(_ACC.with_for_update())  # PostgreSQL: one at a time
INSERT_ACCUMULATORS = Statement(insert(t.accumulators))
UPDATE_ACCUMULATORS = Statement(
    update(t.accumulators)
    .where(and_(_acc.psn_cert == bindparam("key_psn_cert"), _acc.year == bindparam("key_year")))
    .values(body=bindparam("body"))
)

_ref = t.refdata.c
HOTLIST_VERSIONS = Statement(
    select(_ref.version, _ref.issued_at)
    .where(_ref.kind == literal_column("'hotlist'"))
    .order_by(_ref.version)
)
REFDATA_BODY = Statement(
    select(_ref.body).where(
        and_(_ref.kind == bindparam("kind"), _ref.version == bindparam("version"))
    )
)
