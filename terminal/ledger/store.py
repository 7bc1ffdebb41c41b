"""The terminal database (DESIGN.md "Ledger"): one SQLite file, WAL, `synchronous=FULL`, one writer.

`SqliteLedger.open` applies the migrations and loads (or creates) the device key. Reads are plain
methods; every write that must be atomic goes through `write()`, a `BEGIN IMMEDIATE` unit of work
(see `terminal/ledger/unit.py`), so a sale's rows, ledger entry, outbox row and accumulators commit
together or not at all. SQLite errors are translated here into `LedgerError`s that say what to do.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from terminal.errors import LedgerBusyError, LedgerError
from terminal.files import create_private_database
from terminal.ledger.keys import DeviceKey
from terminal.ledger.schema_next import migrate
from terminal.ledger.unit import WriteUnit
from terminal.settlement import (
    Accumulators,
    PoolAccumulators,
    SupplementAccumulators,
    accumulators_to_json,
)

__all__ = ["Exposure", "RefData", "SqliteLedger", "translate_sqlite_error"]

BUSY_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class RefData:
    """One kind of reference data as the terminal holds it (platform-api.md refdata)."""

    kind: str
    version: int
    issued_at: int
    body: str
    sig: str | None
    received_at: str
    confirmed_at: str


@dataclass(frozen=True, slots=True)
class Exposure:
    """What the offline limits read from the ledger for one sale (DESIGN.md "Offline risk")."""

    unsynced_fund: int  # meta.outbox_fund: the fund payments still in the outbox
    last_sync_at: str | None
    sync_origin: str | None  # enrolled_at, else created_at: where "since the last sync" starts
    person_offline_sales: int  # offline_person_day of this person and date
    person_offline_fund: int


def translate_sqlite_error(exc: sqlite3.Error, path: Path) -> LedgerError:
    """A `LedgerError` that says what happened to the database and what to do."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return LedgerBusyError(
            f"database {path} is busy: another medpos process is writing; nothing was written, "
            "try again"
        )
    if "disk i/o error" in text and _nearly_full(path):
        text = "full"  # SQLite reports some out-of-space writes (WAL, shared memory) as I/O errors
    if "disk i/o error" in text:
        return LedgerError(
            f"disk I/O error while writing {path}: nothing was written; check the disk and try "
            "again"
        )
    if "full" in text:
        return LedgerError(
            f"disk full while writing {path}: nothing was written; free space and try again"
        )
    if "readonly" in text or "read-only" in text:
        return LedgerError(
            f"database {path} is read-only: nothing was written; check the file and directory "
            "permissions"
        )
    if "unable to open" in text:
        return LedgerError(f"cannot open database {path}: check the path and permissions")
    if "malformed" in text or "not a database" in text:
        return LedgerError(
            f"database {path} is damaged ({exc}): stop selling and restore it from backup"
        )
    return LedgerError(f"database {path}: {exc}")


def _nearly_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < 1 << 20
    except OSError:
        return False


class SqliteLedger:
    """The terminal's store; use as a context manager or call `close()`."""

    def __init__(
        self, path: Path, conn: sqlite3.Connection, key: DeviceKey | None, dev_no: str
    ) -> None:
        self.path = path
        self.conn = conn
        self.db = Database(conn)  # sqlite-utils: migrations and reports; writes use `conn`
        self._key = key
        self.dev_no = dev_no

    @property
    def key(self) -> DeviceKey:
        """The device key; a ledger opened for reading only has none."""
        if self._key is None:
            raise LedgerError(
                f"{self.path} was opened without its device key: nothing can be signed"
            )
        return self._key

    @classmethod
    def open(
        cls, path: Path, *, dev_no: str, key_path: Path | None = None, signing: bool = True
    ) -> SqliteLedger:
        """Open (creating when needed) the database and the device key next to it.

        With `signing=False` the key is neither loaded nor created (verification needs only the
        public key recorded in the database)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            create_private_database(path)  # 0600, and so are its -wal and -shm
            # one connection, used by one thread at a time: the web front serialises requests
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        except OSError as exc:
            raise LedgerError(f"cannot create {path.parent}: {exc.strerror}") from None
        except sqlite3.Error as exc:
            raise translate_sqlite_error(exc, path) from exc
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            db = Database(conn)
            migrate(db)
        except sqlite3.Error as exc:
            conn.close()
            raise translate_sqlite_error(exc, path) from exc
        if not signing:
            return cls(path, conn, None, dev_no)
        try:
            key = DeviceKey.load_or_create(key_path or path.parent / "device_key.pem")
            ledger = cls(path, conn, key, dev_no)
            ledger._check_device_key()
        except BaseException:
            conn.close()
            raise
        return ledger

    def _check_device_key(self) -> None:
        stored = self.get_meta("device_public_key")
        if stored is None:
            with self.write() as unit:
                unit.set_meta("device_public_key", self.key.public_b64)
                unit.set_meta("dev_no", self.dev_no)
                unit.commit()
            return
        if stored != self.key.public_b64:
            raise LedgerError(
                f"the device key next to {self.path} is not the key this ledger was signed with: "
                "restore the original device_key.pem"
            )
        if self.get_meta("journal_unsigned"):  # rows the journal's migration chained
            with self.write() as unit:
                unit.sign_journal()
                unit.commit()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SqliteLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[WriteUnit]:
        """A unit of work under the write lock (`BEGIN IMMEDIATE`).

        It commits only when the block called `unit.commit()` and ended without an error; any
        other end (no `commit()`: a dry run such as a pre-settlement; an exception) rolls back."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise translate_sqlite_error(exc, self.path) from exc
        unit = WriteUnit(self)
        try:
            yield unit
            if unit.committed:
                self.conn.execute("COMMIT")
            else:
                self._rollback()
        except sqlite3.Error as exc:
            self._rollback()
            raise translate_sqlite_error(exc, self.path) from exc
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.rollback()

    # -- reads ------------------------------------------------------------------------------

    def query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """Rows of a read-only query, as `sqlite3.Row`."""
        try:
            cur = self.conn.execute(sql, params)
            cur.row_factory = sqlite3.Row
            return list(cur.fetchall())
        except sqlite3.Error as exc:
            raise translate_sqlite_error(exc, self.path) from exc

    def get_meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0]["value"]) if rows else None

    def metas_under(self, prefix: str) -> dict[str, str]:
        """Every meta value whose key starts with `prefix` (e.g. `operator/`), in key order."""
        rows = self._rows(
            "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(prefix), prefix),
        )
        return dict(rows)

    def head(self) -> tuple[int, str]:
        """`(seq, hash)` of the newest ledger entry; `(0, 64 zeros)` for an empty ledger."""
        rows = self.query("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1")
        return (int(rows[0]["seq"]), str(rows[0]["hash"])) if rows else (0, "0" * 64)

    def get_metas(self, *keys: str) -> dict[str, str]:
        """Several meta values in one query (absent keys are left out)."""
        marks = ", ".join("?" * len(keys))
        rows = self.query(f"SELECT key, value FROM meta WHERE key IN ({marks})", keys)
        return {r["key"]: r["value"] for r in rows}

    def upload_input(self, txn_id: str) -> dict[str, Any]:
        """The upload input of an entry (platform-api.md), rebuilt from its stored rows, with its
        `ledger` seq, prev_hash, hash and sig: exactly what its hash and signature cover."""
        from terminal.ledger.records import LINES_SELECT, TXN_COLUMNS, reversal_input, sale_input

        conn = self.conn
        row = conn.execute(
            f"SELECT {', '.join(TXN_COLUMNS)} FROM txns WHERE txn_id = ?", (txn_id,)
        ).fetchone()
        entry = conn.execute(
            "SELECT seq, prev_hash, hash, sig FROM ledger WHERE txn_id = ?", (txn_id,)
        ).fetchone()
        if row is None or entry is None:
            raise LedgerError(f"no entry {txn_id} in this ledger")
        txn = dict(zip(TXN_COLUMNS, row, strict=True))
        chain = {"seq": entry[0], "prev_hash": entry[1], "hash": entry[2], "sig": entry[3]}
        if txn["kind"] != "sale":
            return reversal_input(txn, chain)
        seq = entry[0]
        lines = conn.execute(f"{LINES_SELECT} WHERE seq = ? ORDER BY line_no", (seq,))
        accs = conn.execute(
            "SELECT * FROM txn_accumulators WHERE seq = ? ORDER BY phase, path", (seq,)
        )
        return sale_input(txn, chain, lines.fetchall(), accs.fetchall())

    def has_unsynced(self, psn_cert: str) -> bool:
        """True when a sale or refund of this person waits in the outbox."""
        return bool(
            self.query(
                "SELECT 1 FROM outbox o JOIN txns t ON t.txn_id = o.txn_id "
                "WHERE t.psn_cert = ? LIMIT 1",
                (psn_cert,),
            )
        )

    def ecard_seen(self, cti: bytes) -> bool:
        """True when a sale (or `ecard verify --replay-db`) already used this e-card token id."""
        return bool(self.query("SELECT 1 FROM ecard_replay WHERE cti = ?", (cti.hex(),)))

    def refdata_versions(self) -> dict[str, tuple[int, int, str]]:
        """`kind → (version, issued_at, confirmed_at)` without reading the bodies."""
        rows = self._rows("SELECT kind, version, issued_at, confirmed_at FROM refdata")
        return {kind: (version, issued, confirmed) for kind, version, issued, confirmed in rows}

    def get_refdata(self, kind: str) -> RefData | None:
        rows = self.query("SELECT * FROM refdata WHERE kind = ?", (kind,))
        if not rows:
            return None
        r = rows[0]
        return RefData(
            r["kind"],
            r["version"],
            r["issued_at"],
            r["body"],
            r["sig"],
            r["received_at"],
            r["confirmed_at"],
        )

    def get_person(self, psn_cert: str) -> dict[str, Any] | None:
        """The cached person: claim-shaped `person` plus `name` and `card_no`."""
        rows = self.query("SELECT * FROM persons WHERE psn_cert = ?", (psn_cert,))
        return _person_from_row(rows[0]) if rows else None

    def find_person_by_card(self, card_no: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM persons WHERE card_no = ?", (card_no,))
        return _person_from_row(rows[0]) if rows else None

    def accumulators(self, psn_cert: str, year: int) -> dict[str, Any] | None:
        """The cached accumulators for the policy year, claim-shaped; None for an unknown person."""
        value = self.accumulators_value(psn_cert, year)
        return accumulators_to_json(value) if value is not None else None

    def accumulators_value(self, psn_cert: str, year: int) -> Accumulators | None:
        """The cached accumulators for the policy year as the engine takes them (fen)."""
        person = self._rows("SELECT acct_balance FROM persons WHERE psn_cert = ?", (psn_cert,))
        if not person:
            return None
        rows = self._rows(
            "SELECT kind, name, field, amount FROM person_pools WHERE psn_cert = ? AND year = ?",
            (psn_cert, year),
        )
        fields: dict[tuple[str, str], dict[str, int]] = {}
        for kind, name, field, amount in rows:
            fields.setdefault((kind, name), {})[field] = amount
        pools = {n: PoolAccumulators(**f) for (k, n), f in fields.items() if k == "pools"}
        supps = {n: SupplementAccumulators(**f) for (k, n), f in fields.items() if k != "pools"}
        return Accumulators(person[0][0], pools, supps)

    def exposure(self, psn_cert: str, setl_date: str) -> Exposure:
        """The counters the offline limits check, each one row however long the history is."""
        unsynced, last_sync, origin = self._exposure()
        sales, fund = self._offline_day(psn_cert, setl_date)
        return Exposure(unsynced, last_sync, origin, sales, fund)

    def _exposure(self) -> tuple[int, str | None, str | None]:
        meta = dict(
            self._rows(
                "SELECT key, value FROM meta WHERE key IN "
                "('outbox_fund', 'last_sync_at', 'enrolled_at', 'created_at')"
            )
        )
        origin = meta.get("enrolled_at") or meta.get("created_at")
        return int(meta.get("outbox_fund") or 0), meta.get("last_sync_at") or None, origin or None

    def _offline_day(self, psn_cert: str, setl_date: str) -> tuple[int, int]:
        row = self._rows(
            "SELECT sales, fund FROM offline_person_day WHERE psn_cert = ? AND setl_date = ?",
            (psn_cert, setl_date),
        )
        return (int(row[0][0]), int(row[0][1])) if row else (0, 0)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Plain tuples of a read-only query (the hot path's reads: no `sqlite3.Row`)."""
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise translate_sqlite_error(exc, self.path) from exc

    def txn(self, txn_id: str) -> sqlite3.Row | None:
        rows = self.query("SELECT * FROM txns WHERE txn_id = ?", (txn_id,))
        return rows[0] if rows else None

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.query("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (limit,))
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]

    def audit(self, kind: str, actor: str | None, detail: dict[str, Any], at: datetime) -> None:
        """Append one audit record in its own transaction."""
        with self.write() as unit:
            unit.audit(kind, actor, detail, at)
            unit.commit()


def _person_from_row(r: sqlite3.Row) -> dict[str, Any]:
    person: dict[str, Any] = {
        "psn_cert": r["psn_cert"],
        "insutype": r["insutype"],
        "psn_type": r["psn_type"],
        "insuplc_admdvs": r["insuplc_admdvs"],
        "flags": json.loads(r["flags"]),
    }
    if r["psn_no"] is not None:
        person["psn_no"] = r["psn_no"]
    return {"person": person, "name": r["name"], "card_no": r["card_no"], "source": r["source"]}
