"""Values read inside write units, reused by the next unit while the database is provably unchanged.

Every sale reads the same few values in its write unit (the reference data versions, the chain
head, the person's accumulators, the offline totals). `ReadCache` keeps them from one unit to the
next, and uses one only while two counters prove that no row has changed since it was read:

- `PRAGMA data_version`, read inside the unit (under the write lock, so in the unit's own
  snapshot), moves when any other connection, in this process or another, has committed;
- `Connection.total_changes` moves with every row this connection inserts, updates or deletes,
  through the ledger or not (a raw statement, a unit that is later rolled back).

When either has moved, every value is dropped and read again. A unit that rolls back after
writing drops them too (a value read after its writes describes rows that were never committed);
one that only read (a pre-settlement, a refusal) keeps them. The sale path
updates the values its own writes change (`WriteUnit.append_sale`) and then `rebase`s, so the next
sale reads none of them from the database. Outside a write unit nothing is cached: a plain read is
not under the write lock, so nothing would hold the database still between the check and the use.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["ReadCache"]

T = TypeVar("T")


class ReadCache:
    """The values of one connection's last write units, and the counters that vouch for them."""

    __slots__ = ("_begun_at", "_conn", "_in_unit", "_stamp", "_values", "_version")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._values: dict[Hashable, Any] = {}
        self._stamp: tuple[int, int] | None = None  # (data_version, total_changes) of _values
        self._in_unit = False
        self._version: int | None = None  # data_version inside the open unit, read when needed
        self._begun_at = 0  # total_changes when the open unit began

    # -- the unit's life (SqliteLedger.write) ----------------------------------------------

    def begin(self) -> None:
        """A write unit has taken the write lock (BEGIN IMMEDIATE)."""
        self._in_unit = True
        self._version = None
        self._begun_at = self._conn.total_changes

    def end(self, committed: bool) -> None:
        """The unit committed, or rolled back: then what it read after writing is forgotten."""
        self._in_unit = False
        self._version = None
        if not committed and self._conn.total_changes != self._begun_at:
            self.forget()

    def forget(self) -> None:
        self._values.clear()
        self._stamp = None

    # -- use inside a unit -----------------------------------------------------------------

    def _now(self) -> tuple[int, int] | None:
        """`(data_version, total_changes)` now, or None outside a write unit."""
        if not self._in_unit:
            return None
        if self._version is None:
            self._version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        return self._version, self._conn.total_changes

    def current(self) -> bool:
        """True when the held values describe the database as it is now, in this unit."""
        now = self._now()
        return now is not None and now == self._stamp

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The value under `key`, read by `load` unless a held one is still proven current."""
        now = self._now()
        if now is None:
            return load()
        if now != self._stamp:
            self._values.clear()
            self._stamp = now
        elif key in self._values:
            value: T = self._values[key]
            return value
        value = load()
        self._values[key] = value
        return value

    def peek(self, key: Hashable) -> Any:
        """The held value under `key` (None when there is none); only after `current()`."""
        return self._values.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        """Replace a held value with what this unit's own writes made of it; only between a
        `current()` that was True and `rebase()`."""
        self._values[key] = value

    def drop(self, key: Hashable) -> None:
        self._values.pop(key, None)

    def rebase(self) -> None:
        """Every held value has been brought up to this unit's own writes: vouch for them now."""
        self._stamp = self._now()
