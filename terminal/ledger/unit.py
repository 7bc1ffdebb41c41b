"""The write side of the ledger: everything here runs inside `SqliteLedger.write()`.

A `WriteUnit` is handed out by `with ledger.write() as unit:`; its writes are committed only when
the block calls `unit.commit()` and ends without an error (DESIGN.md "A transaction's life"). The
chained entries (a sale, a reversal) are written by `terminal/ledger/entries.py`; the rest here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from terminal.ledger import entries, journal, replay, trace, tracereports
from terminal.ledger.entries import Appended, SaleRecord
from terminal.ledger.records import accumulator_rows
from terminal.trace import KnownCode, NoCodeStock, TracePlan

if TYPE_CHECKING:
    from terminal.ledger.history import PartialRefund
    from terminal.ledger.store import SqliteLedger

__all__ = ["WriteUnit"]


# an upsert in place: INSERT OR REPLACE deletes and inserts the row, rewriting the key's index page
_SET_META = (
    "INSERT INTO meta (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


class WriteUnit:
    """Writes inside one `BEGIN IMMEDIATE` transaction of a `SqliteLedger`."""

    def __init__(self, ledger: SqliteLedger) -> None:
        self._ledger = ledger
        self._conn = ledger.conn
        self.committed = False

    def commit(self) -> None:
        """Commit the unit's writes when its `with ledger.write()` block ends without an error
        (a block that never calls this rolls back)."""
        self.committed = True

    # -- the chain --------------------------------------------------------------------------

    def append_sale(self, record: SaleRecord) -> Appended:
        """Write a settled sale, its entry, outbox row and the person's accumulators after it."""
        return entries.append_sale(self._conn, self._ledger.key, self._ledger.dev_no, record)

    def append_reversal(
        self, *, orig_txn_id: str, reason: str, operator: str, settled_at: datetime
    ) -> Appended:
        """Write the reversal of a sale; give back what it took from the person's accumulators."""
        return entries.append_reversal(
            self._conn,
            self._ledger.key,
            self._ledger.dev_no,
            orig_txn_id=orig_txn_id,
            reason=reason,
            operator=operator,
            settled_at=settled_at,
        )

    def link_partial_refund(self, link: PartialRefund) -> None:
        """Link a partial refund's reversal, the original and the sale of what was kept."""
        from terminal.ledger.history import link_partial_refund

        link_partial_refund(self._conn, link)

    # -- traceability codes (trace-codes.md) ------------------------------------------------

    def trace_known(self, codes: Iterable[str]) -> dict[str, KnownCode]:
        """The table's rows of `codes`, read in this unit's snapshot."""
        return trace.known_codes(self._conn, codes)

    def trace_stock(self, allowed: Mapping[str, int]) -> dict[str, NoCodeStock]:
        """No-code stock left per item, read in this unit's snapshot."""
        return trace.no_code_stock(self._conn, allowed)

    def record_trace(self, txn_id: str, plan: TracePlan, at: datetime) -> None:
        """Write sale `txn_id`'s codes and no-code takes (after its entry, before the commit)."""
        trace.record_trace(self._conn, txn_id, plan, at)

    def return_trace(self, orig_txn_id: str, txn_id: str, at: datetime) -> list[str]:
        """Give back what sale `orig_txn_id` took (its reversal `txn_id`); the codes returned."""
        return trace.return_trace(self._conn, orig_txn_id, txn_id, at)

    def trace_takes(self, txn_id: str) -> list[dict[str, Any]]:
        """What sale `txn_id` took (`{line, code, item_code, packages, units, duplicate}`)."""
        return trace.trace_of_txn(self._conn, txn_id)

    def apply_trace_refdata(self, body: Mapping[str, Any], *, whole: bool = False) -> int:
        """The other terminals' codes (refdata kind `trace`): a delta, or `whole` the set."""
        return trace.apply_trace_refdata(self._conn, body, whole=whole)

    def queue_trace_report(self, txn_id: str, report: Mapping[str, Any], at: datetime) -> None:
        """Queue a 3505 trace report (a self-pay sale's or refund's, in its unit of work)."""
        tracereports.queue_trace_report(self._conn, txn_id, report, at)

    def trace_report_done(self, txn_id: str, answer: Mapping[str, Any], at: datetime) -> None:
        tracereports.trace_report_done(self._conn, txn_id, answer, at)

    def park_trace_report(self, txn_id: str, reason: str) -> None:
        tracereports.park_trace_report(self._conn, txn_id, reason)

    def retry_trace_report(self, txn_id: str, error: str, next_attempt_at: datetime) -> None:
        tracereports.retry_trace_report(self._conn, txn_id, error, next_attempt_at)

    def release_trace_reports(self, txn_id: str | None = None) -> int:
        return tracereports.release_trace_reports(self._conn, txn_id)

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
        """Store a final acknowledgement, with the entry's hash as acknowledged, and only then
        take the entry out of the outbox.

        Returns False when the entry was not in the outbox (acknowledged before: nothing changes).
        """
        row = self._conn.execute(
            "SELECT seq, fund_pay_sumamt FROM outbox WHERE txn_id = ?", (txn_id,)
        ).fetchone()
        if row is None:
            return False
        seq, fund = row
        self._conn.execute(
            "INSERT INTO acks (txn_id, seq, status, setl_id, reason, platform_result, acked_at, "
            "hash) VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT hash FROM ledger WHERE seq = ?))",
            (
                txn_id,
                seq,
                status,
                setl_id,
                reason,
                json.dumps(platform_result, ensure_ascii=False) if platform_result else None,
                at.isoformat(timespec="seconds"),
                seq,
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

    def set_platform_head(self, chain_head: Mapping[str, Any]) -> None:
        """Keep the platform's chain head (`{"seq", "hash"}` of an upload acknowledgement) when it
        is the furthest seen (answers of one batch may come in any order)."""
        seq, digest = chain_head.get("seq"), chain_head.get("hash")
        if type(seq) is not int or not isinstance(digest, str):
            return
        self._conn.execute(
            "INSERT INTO meta (key, value) "
            "VALUES ('platform_head', json_object('seq', ?, 'hash', ?)) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value "
            "WHERE json_extract(excluded.value, '$.seq') >= json_extract(value, '$.seq')",
            (seq, digest),
        )

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
        entries.store_accumulators(self._conn, psn_cert, year, [(r[2], r[3]) for r in rows])

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
        self._conn.execute(_SET_META, (key, value))

    def audit(self, kind: str, actor: str | None, detail: Mapping[str, Any], at: datetime) -> None:
        """Append an audit record and its signed journal entry."""
        cur = self._conn.execute(
            "INSERT INTO audit (at, kind, actor, detail) VALUES (?, ?, ?, ?)",
            (at.isoformat(timespec="seconds"), kind, actor, json.dumps(detail, ensure_ascii=False)),
        )
        assert cur.lastrowid is not None
        journal.append(self._conn, self._ledger.key, "audit", cur.lastrowid)

    def sign_journal(self) -> int:
        """Sign the journal entries its migration chained without a key; how many."""
        signed = journal.sign_pending(self._conn, self._ledger.key)
        self._conn.execute("DELETE FROM meta WHERE key = 'journal_unsigned'")
        return signed

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
