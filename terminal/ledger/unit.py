"""The write side of the ledger: everything here runs inside `SqliteLedger.write()`.

`append_sale` and `append_reversal` write, in the caller's one transaction, the transaction rows,
the chained and signed ledger entry (its hash rebuilt from those very rows), the outbox row and
the person's accumulators (DESIGN.md "A transaction's life", step 4).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from terminal.errors import IdentityError, LedgerError
from terminal.ledger import replay
from terminal.ledger.records import (
    GENESIS_HASH,
    LINE_COLUMNS,
    TXN_COLUMNS,
    accumulator_rows,
    as_stored,
    entry_hash,
    reversal_input,
    sale_digest,
    sale_input,
    sale_rows,
    split_path,
)
from terminal.settlement import Accumulators, SettlementResult

if TYPE_CHECKING:
    from terminal.ledger.store import SqliteLedger

__all__ = ["Appended", "WriteUnit"]

_INSERT_TXN = (
    f"INSERT INTO txns ({', '.join(TXN_COLUMNS)}) VALUES ({', '.join('?' * len(TXN_COLUMNS))})"
)
_TXN_VALUES = itemgetter(*TXN_COLUMNS)  # positional parameters: binding by name costs more


@lru_cache(maxsize=64)
def _insert_sql(verb: str, table: str, columns: tuple[str, ...], count: int) -> str:
    row = f"({', '.join('?' * len(columns))})"
    return f"{verb} INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * count)}"


def _insert_rows(
    conn: sqlite3.Connection,
    table: str,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    verb: str = "INSERT",
) -> None:
    """One statement for all the rows (quicker than executemany's one per row)."""
    if rows:
        sql = _insert_sql(verb, table, columns, len(rows))
        conn.execute(sql, [value for row in rows for value in row])


_ACC_COLUMNS = ("seq", "phase", "path", "amount")
_NONE = object()  # no amount held: written whatever it is
_POOL_COLUMNS = ("psn_cert", "year", "kind", "name", "field", "amount")


@dataclass(frozen=True, slots=True)
class Appended:
    """A ledger entry just written: what checkout prints after the commit."""

    txn_id: str
    seq: int
    hash: str
    upload_input: dict[str, Any]


class WriteUnit:
    """Writes inside one `BEGIN IMMEDIATE` transaction of a `SqliteLedger`."""

    def __init__(self, ledger: SqliteLedger) -> None:
        self._ledger = ledger
        self._conn = ledger.conn
        self.committed = False

    def commit(self) -> None:
        """Mark the unit to be committed when its `with ledger.write()` block ends."""
        self.committed = True

    # -- the chain --------------------------------------------------------------------------

    def next_entry(self) -> tuple[int, str, str]:
        """`(seq, prev_hash, txn_id)` of the entry about to be appended."""
        seq, prev = self._ledger.cache.get("head", self._head)
        return seq + 1, prev, f"{self._ledger.dev_no}-{seq + 1}"

    def _head(self) -> tuple[int, str]:
        row = self._conn.execute(
            "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return (row[0], row[1]) if row else (0, GENESIS_HASH)

    def _sign_and_chain(
        self,
        seq: int,
        txn_id: str,
        upload: dict[str, Any],
        digest: str,
        kind: str,
        fund: int,
        at: datetime,
    ) -> None:
        """Sign the entry's hash; write it, its outbox row and the anchors that move with it."""
        sig = self._ledger.key.sign_b64(bytes.fromhex(digest))
        self._conn.execute(
            "INSERT INTO ledger (seq, txn_id, prev_hash, hash, sig) VALUES (?, ?, ?, ?, ?)",
            (seq, txn_id, upload["ledger"]["prev_hash"], digest, sig),
        )
        upload["ledger"]["hash"] = digest
        upload["ledger"]["sig"] = sig
        self._conn.execute(
            "INSERT INTO outbox (txn_id, seq, kind, fund_pay_sumamt, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (txn_id, seq, kind, fund, at.isoformat("T", "seconds")),
        )
        # the head anchor, and the running total of unsynced fund payments, so that the
        # unsynced-exposure limit costs one row read per sale: one statement for the three
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES ('head_seq', ?), ('head_hash', ?), "
            "('outbox_fund', ?) ON CONFLICT (key) DO UPDATE SET value = CASE key "
            "WHEN 'outbox_fund' THEN CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER) "
            "ELSE excluded.value END",
            (str(seq), digest, str(fund)),
        )

    def append_sale(
        self,
        *,
        settled_at: datetime,
        offline: bool,
        operator: str | None,
        payment_method: str | None,
        identity: Mapping[str, Any],
        psn_name: str | None,
        claim: Mapping[str, Any],
        before: Accumulators,
        result: SettlementResult,
        catalogue_version: int,
        year: int,
        ecard_cti: bytes | None = None,
        ecard_exp: int | None = None,
    ) -> Appended:
        """Write a settled sale, its entry, outbox row and the person's accumulators after it."""
        cache = self._ledger.cache
        cached = cache.current()  # before this sale's writes: the held values are the database's
        seq, prev_hash, txn_id = self.next_entry()
        txn, lines, accs = sale_rows(
            txn_id=txn_id,
            seq=seq,
            settled_at=_local_seconds(settled_at),
            setl_date=settled_at.date().isoformat(),
            offline=offline,
            operator=operator,
            payment_method=payment_method,
            identity=identity,
            psn_name=psn_name,
            claim=claim,
            before=before,
            result=result,
            catalogue_version=catalogue_version,
        )
        self._conn.execute(_INSERT_TXN, _TXN_VALUES(txn))
        _insert_rows(self._conn, "txn_lines", LINE_COLUMNS, lines)
        _insert_rows(self._conn, "txn_accumulators", _ACC_COLUMNS, accs)
        upload = sale_input(txn, {"seq": seq, "prev_hash": prev_hash}, lines, accs)
        fund, psn_cert, setl_date = txn["fund_pay_sumamt"], txn["psn_cert"], txn["setl_date"]
        digest = sale_digest(upload)
        self._sign_and_chain(seq, txn_id, upload, digest, "sale", fund, settled_at)
        counted = offline and fund > 0
        if counted:
            self._count_offline(psn_cert, setl_date, 1, fund)
        # `before` is the person's stored accumulators (as the unit read them, so the cache holds
        # them): then only what the sale changed needs writing, and the cache can follow
        exact = cached and cache.peek(("accumulators", psn_cert)) == (year, before)
        held = {r[2]: r[3] for r in accs if r[1] == "before"} if exact else {}
        self._store_accumulators(
            psn_cert,
            year,
            [(r[2], r[3]) for r in accs if r[1] == "after" and held.get(r[2], _NONE) != r[3]],
        )
        if ecard_cti is not None:
            if not replay.record(self._conn, ecard_cti, ecard_exp or 0):
                raise IdentityError(
                    "replay",
                    "this code was already used on this terminal: ask the customer to refresh it",
                )
        if cached:
            # bring the held reads up to this sale's own writes, so the next sale reads none
            cache.put("head", (seq, digest))
            exposure = cache.peek("exposure")
            if exposure is not None:
                cache.put("exposure", (exposure[0] + fund, *exposure[1:]))
            day = cache.peek(("offline_day", psn_cert, setl_date))
            if counted and day is not None:
                cache.put(("offline_day", psn_cert, setl_date), (day[0] + 1, day[1] + fund))
            if exact:
                cache.put(("accumulators", psn_cert), (year, as_stored(result.accumulators_after)))
            else:
                cache.drop(("accumulators", psn_cert))
            cache.rebase()
        return Appended(txn_id, seq, digest, upload)

    def append_reversal(
        self, *, orig_txn_id: str, reason: str, operator: str, settled_at: datetime
    ) -> Appended:
        """Write the reversal of a sale; give back what it took from the person's accumulators."""
        conn = self._conn
        orig = conn.execute(
            "SELECT seq, kind, psn_cert, visit_date, fund_pay_sumamt, offline, setl_date "
            "FROM txns WHERE txn_id = ?",
            (orig_txn_id,),
        ).fetchone()
        if orig is None:
            raise LedgerError(f"no sale {orig_txn_id} on this terminal: check the receipt number")
        orig_seq, kind, psn_cert, visit_date, fund, orig_offline, orig_date = orig
        if kind != "sale":
            raise LedgerError(f"{orig_txn_id} is itself a refund and cannot be refunded")
        done = conn.execute(
            "SELECT txn_id FROM txns WHERE orig_txn_id = ?", (orig_txn_id,)
        ).fetchone()
        if done is not None:
            raise LedgerError(f"{orig_txn_id} was already refunded by {done[0]}")
        ack = conn.execute("SELECT status FROM acks WHERE txn_id = ?", (orig_txn_id,)).fetchone()
        if ack is not None and ack[0] == "rejected":
            raise LedgerError(
                f"{orig_txn_id} was rejected by the platform, so there is nothing to refund"
            )
        seq, prev_hash, txn_id = self.next_entry()
        txn = dict.fromkeys(TXN_COLUMNS)
        txn.update(
            txn_id=txn_id,
            seq=seq,
            kind="reversal",
            settled_at=_local_seconds(settled_at),
            setl_date=settled_at.date().isoformat(),
            offline=1,
            operator=operator,
            psn_cert=psn_cert,
            orig_txn_id=orig_txn_id,
            reason=reason,
        )
        conn.execute(_INSERT_TXN, _TXN_VALUES(txn))
        upload = reversal_input(txn, {"seq": seq, "prev_hash": prev_hash})
        digest = entry_hash(upload)
        self._sign_and_chain(seq, txn_id, upload, digest, "reversal", -fund, settled_at)
        if orig_offline and fund > 0:
            self._count_offline(psn_cert, orig_date, -1, -fund)
        self._give_back(orig_seq, psn_cert, int(visit_date[:4]))
        return Appended(txn_id, seq, digest, upload)

    def _give_back(self, orig_seq: int, psn_cert: str, year: int) -> None:
        delta: dict[str, int] = {}
        for phase, path, amount in self._conn.execute(
            "SELECT phase, path, amount FROM txn_accumulators WHERE seq = ?", (orig_seq,)
        ):
            delta[path] = delta.get(path, 0) + (amount if phase == "after" else -amount)
        for path, change in delta.items():
            if change == 0:
                continue
            if path == "acct_balance":
                self._conn.execute(
                    "UPDATE persons SET acct_balance = acct_balance - ? WHERE psn_cert = ?",
                    (change, psn_cert),
                )
                continue
            self._conn.execute(
                "UPDATE person_pools SET amount = amount - ? "
                "WHERE psn_cert = ? AND year = ? AND kind = ? AND name = ? AND field = ?",
                (change, psn_cert, year, *split_path(path)),
            )

    def _count_offline(self, psn_cert: str, setl_date: str, sales: int, fund: int) -> None:
        self._conn.execute(
            "INSERT INTO offline_person_day (psn_cert, setl_date, sales, fund) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (psn_cert, setl_date) DO UPDATE SET sales = sales + excluded.sales, "
            "fund = fund + excluded.fund",
            (psn_cert, setl_date, sales, fund),
        )

    def _add_outbox_fund(self, fund: int) -> None:
        # a running total, so the unsynced-exposure limit costs one row read per sale
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES ('outbox_fund', ?) ON CONFLICT (key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER)",
            (str(fund),),
        )

    def record_ack(
        self,
        txn_id: str,
        *,
        status: str,
        setl_id: str | None,
        reason: str | None,
        platform_result: Mapping[str, Any] | None,
        at: datetime,
    ) -> bool:
        """Store a final acknowledgement and only then take the entry out of the outbox.

        Returns False when the entry was not in the outbox (acknowledged before: nothing changes).
        """
        row = self._conn.execute(
            "SELECT seq, fund_pay_sumamt FROM outbox WHERE txn_id = ?", (txn_id,)
        ).fetchone()
        if row is None:
            return False
        seq, fund = row
        self._conn.execute(
            "INSERT INTO acks (txn_id, seq, status, setl_id, reason, platform_result, acked_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                txn_id,
                seq,
                status,
                setl_id,
                reason,
                json.dumps(platform_result, ensure_ascii=False) if platform_result else None,
                at.isoformat(timespec="seconds"),
            ),
        )
        self._conn.execute("DELETE FROM outbox WHERE txn_id = ?", (txn_id,))
        self._add_outbox_fund(-fund)
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES ('last_acked_seq', ?) ON CONFLICT (key) "
            "DO UPDATE SET value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
            (str(seq),),
        )
        return True

    def retry_later(self, txn_id: str, error: str, next_attempt_at: datetime) -> None:
        """An upload that did not get a final answer (transport, 5xx, held): try again later."""
        self._conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
            "WHERE txn_id = ?",
            (error, next_attempt_at.isoformat(timespec="seconds"), txn_id),
        )

    def park(self, txn_id: str, reason: str) -> None:
        """A refused upload: kept, visible with its reason, not retried until released."""
        self._conn.execute(
            "UPDATE outbox SET state = 'parked', attempts = attempts + 1, last_error = ? "
            "WHERE txn_id = ?",
            (reason, txn_id),
        )

    def release_parked(self, txn_id: str | None = None) -> int:
        """Put parked uploads (one, or all) back in the queue after a fix; returns how many."""
        cur = self._conn.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = NULL "
            "WHERE state = 'parked' AND (? IS NULL OR txn_id = ?)",
            (txn_id, txn_id),
        )
        return cur.rowcount

    # -- persons ----------------------------------------------------------------------------

    def upsert_person(
        self,
        person: Mapping[str, Any],
        *,
        source: str,
        at: datetime,
        name: str | None = None,
        card_no: str | None = None,
        acct_balance: int | None = None,
    ) -> None:
        """Insert or update a person's insurance fields (keeps name/card/balance when not given)."""
        self._conn.execute(
            "INSERT INTO persons (psn_cert, psn_no, name, card_no, insutype, psn_type, "
            "insuplc_admdvs, flags, acct_balance, source, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (psn_cert) DO UPDATE SET psn_no = excluded.psn_no, "
            "name = COALESCE(excluded.name, name), card_no = COALESCE(excluded.card_no, card_no), "
            "insutype = excluded.insutype, psn_type = excluded.psn_type, "
            "insuplc_admdvs = excluded.insuplc_admdvs, flags = excluded.flags, "
            "acct_balance = CASE WHEN ? THEN excluded.acct_balance ELSE acct_balance END, "
            "source = excluded.source, updated_at = excluded.updated_at",
            (
                person["psn_cert"],
                person.get("psn_no"),
                name,
                card_no,
                person["insutype"],
                person["psn_type"],
                person["insuplc_admdvs"],
                json.dumps(list(person.get("flags", [])), ensure_ascii=False),
                acct_balance or 0,
                source,
                at.isoformat(timespec="seconds"),
                acct_balance is not None,
            ),
        )

    def set_accumulators(self, psn_cert: str, year: int, acc: Mapping[str, Any]) -> None:
        """Replace the cached accumulators of a person for a policy year (claim-shaped input)."""
        rows = accumulator_rows(0, "after", acc)
        self._store_accumulators(psn_cert, year, [(row[2], row[3]) for row in rows])

    def _store_accumulators(self, psn_cert: str, year: int, rows: list[tuple[str, int]]) -> None:
        pools = []
        for path, amount in rows:
            if path == "acct_balance":
                self._conn.execute(
                    "UPDATE persons SET acct_balance = ? WHERE psn_cert = ?", (amount, psn_cert)
                )
                continue
            pools.append((psn_cert, year, *split_path(path), amount))
        _insert_rows(self._conn, "person_pools", _POOL_COLUMNS, pools, "INSERT OR REPLACE")

    # -- everything else --------------------------------------------------------------------

    def next_counter(self, key: str) -> int:
        """Increment the integer meta value `key` (0 when absent) and return the new value."""
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            (key,),
        )
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def audit(self, kind: str, actor: str | None, detail: Mapping[str, Any], at: datetime) -> None:
        self._conn.execute(
            "INSERT INTO audit (at, kind, actor, detail) VALUES (?, ?, ?, ?)",
            (at.isoformat(timespec="seconds"), kind, actor, json.dumps(detail, ensure_ascii=False)),
        )

    def put_refdata(
        self, kind: str, version: int, issued_at: int, body: str, sig: str | None, at: datetime
    ) -> None:
        """Store a new version of a kind of reference data (received and confirmed now)."""
        stamp = at.isoformat(timespec="seconds")
        self._conn.execute(
            "INSERT OR REPLACE INTO refdata (kind, version, issued_at, body, sig, received_at, "
            "confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (kind, version, issued_at, body, sig, stamp, stamp),
        )

    def prune_replay(self, now: int, tolerance_s: int) -> int:
        """Forget e-card token ids whose codes expired; returns how many."""
        return replay.prune(self._conn, now, tolerance_s)

    def confirm_refdata(self, kind: str, at: datetime) -> None:
        """The platform said the held version is still current."""
        self._conn.execute(
            "UPDATE refdata SET confirmed_at = ? WHERE kind = ?",
            (at.isoformat(timespec="seconds"), kind),
        )


def _local_seconds(at: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS` of `at` in its own time zone (quicker than strftime)."""
    return at.isoformat(" ", "seconds")[:19]
