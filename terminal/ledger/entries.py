"""The chained entries: a sale's or a reversal's rows, its signed ledger entry, its outbox row and
the accumulators and counters that move with it, all in the caller's one transaction (DESIGN.md
"A transaction's life", step 4). `WriteUnit.append_sale` and `append_reversal` call these.

The entry's hash is rebuilt from the very rows written (`records.sale_input`), so what is hashed
is what is stored. The chain head is read here, in the unit's own snapshot: nothing is held from
one unit to the next.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from terminal.errors import IdentityError, LedgerError
from terminal.ledger import replay
from terminal.ledger.keys import DeviceKey
from terminal.ledger.records import (
    GENESIS_HASH,
    LINE_COLUMNS,
    TXN_COLUMNS,
    entry_hash,
    reversal_input,
    sale_input,
    sale_rows,
    split_path,
)
from terminal.ledger.tenders import TenderRow, mirror_tenders, write_tenders
from terminal.settlement import Accumulators, SettlementResult

__all__ = ["Appended", "SaleRecord", "append_reversal", "append_sale", "store_accumulators"]

_INSERT_TXN = (
    f"INSERT INTO txns ({', '.join(TXN_COLUMNS)}) VALUES ({', '.join('?' * len(TXN_COLUMNS))})"
)
_TXN_VALUES = itemgetter(*TXN_COLUMNS)  # positional parameters, in the table's column order
_ACC_COLUMNS = ("seq", "phase", "path", "amount")
_POOL_COLUMNS = ("psn_cert", "year", "kind", "name", "field", "amount")


@dataclass(frozen=True, slots=True)
class SaleRecord:
    """A settled sale as the ledger records it: everything `WriteUnit.append_sale` writes."""

    settled_at: datetime  # in the region's time zone: its date is the business date
    offline: bool  # settled without the platform's fresh figures
    operator: str | None
    payment_method: str | None
    identity: Mapping[str, Any]  # mdtrt_cert_type, mdtrt_cert_no, card_no, card_sn
    psn_name: str | None
    claim: Mapping[str, Any]  # the person, visit and basket settled
    before: Accumulators  # the person's accumulators the sale settled with
    result: SettlementResult
    catalogue_version: int
    year: int  # the policy year of the accumulators
    ecard_cti: bytes | None = None  # the e-card code's token id, recorded against replay
    ecard_exp: int | None = None
    # how the person paid `psn_cash_pay` (`sale_tenders`); None: all of it by `payment_method`
    # (cash when none)
    tenders: tuple[TenderRow, ...] | None = None


@dataclass(frozen=True, slots=True)
class Appended:
    """A ledger entry just written: what checkout prints after the commit."""

    txn_id: str
    seq: int
    hash: str
    upload_input: dict[str, Any]


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
    """One statement for all the rows."""
    if rows:
        sql = _insert_sql(verb, table, columns, len(rows))
        conn.execute(sql, [value for row in rows for value in row])


def _next_entry(conn: sqlite3.Connection, dev_no: str) -> tuple[int, str, str]:
    """`(seq, prev_hash, txn_id)` of the entry about to be appended."""
    row = conn.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (row[0], row[1]) if row else (0, GENESIS_HASH)
    return seq + 1, prev, f"{dev_no}-{seq + 1}"


def _sign_and_chain(
    conn: sqlite3.Connection,
    key: DeviceKey,
    seq: int,
    txn_id: str,
    upload: dict[str, Any],
    digest: str,
    kind: str,
    fund: int,
    at: datetime,
) -> None:
    """Sign the entry's hash; write it, its outbox row and the anchors that move with it."""
    sig = key.sign_b64(bytes.fromhex(digest))
    conn.execute(
        "INSERT INTO ledger (seq, txn_id, prev_hash, hash, sig) VALUES (?, ?, ?, ?, ?)",
        (seq, txn_id, upload["ledger"]["prev_hash"], digest, sig),
    )
    upload["ledger"]["hash"] = digest
    upload["ledger"]["sig"] = sig
    conn.execute(
        "INSERT INTO outbox (txn_id, seq, kind, fund_pay_sumamt, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (txn_id, seq, kind, fund, at.isoformat("T", "seconds")),
    )
    # the head anchor, and the running total of unsynced fund payments, so that the
    # unsynced-exposure limit costs one row read per sale
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('head_seq', ?), ('head_hash', ?), "
        "('outbox_fund', ?) ON CONFLICT (key) DO UPDATE SET value = CASE key "
        "WHEN 'outbox_fund' THEN CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER) "
        "ELSE excluded.value END",
        (str(seq), digest, str(fund)),
    )


def append_sale(
    conn: sqlite3.Connection, key: DeviceKey, dev_no: str, record: SaleRecord
) -> Appended:
    """Write a settled sale, its entry, outbox row and the person's accumulators after it."""
    seq, prev_hash, txn_id = _next_entry(conn, dev_no)
    settled_at = record.settled_at
    txn, lines, accs = sale_rows(
        txn_id=txn_id,
        seq=seq,
        settled_at=_local_seconds(settled_at),
        setl_date=settled_at.date().isoformat(),
        offline=record.offline,
        operator=record.operator,
        payment_method=record.payment_method,
        identity=record.identity,
        psn_name=record.psn_name,
        claim=record.claim,
        before=record.before,
        result=record.result,
        catalogue_version=record.catalogue_version,
    )
    conn.execute(_INSERT_TXN, _TXN_VALUES(txn))
    _insert_rows(conn, "txn_lines", LINE_COLUMNS, lines)
    _insert_rows(conn, "txn_accumulators", _ACC_COLUMNS, accs)
    write_tenders(conn, txn_id, _tenders(record, txn["psn_cash_pay"]))
    upload = sale_input(txn, {"seq": seq, "prev_hash": prev_hash}, lines, accs)
    fund, psn_cert, setl_date = txn["fund_pay_sumamt"], txn["psn_cert"], txn["setl_date"]
    digest = entry_hash(upload)
    _sign_and_chain(conn, key, seq, txn_id, upload, digest, "sale", fund, settled_at)
    if record.offline and fund > 0:
        _count_offline(conn, psn_cert, setl_date, 1, fund)
    store_accumulators(conn, psn_cert, record.year, [(r[2], r[3]) for r in accs if r[1] == "after"])
    if record.ecard_cti is not None:
        if not replay.record(conn, record.ecard_cti, record.ecard_exp or 0):
            raise IdentityError(
                "replay",
                "this code was already used on this terminal: ask the customer to refresh it",
            )
    return Appended(txn_id, seq, digest, upload)


def append_reversal(
    conn: sqlite3.Connection,
    key: DeviceKey,
    dev_no: str,
    *,
    orig_txn_id: str,
    reason: str,
    operator: str,
    settled_at: datetime,
) -> Appended:
    """Write the reversal of a sale; give back what it took from the person's accumulators."""
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
    done = conn.execute("SELECT txn_id FROM txns WHERE orig_txn_id = ?", (orig_txn_id,)).fetchone()
    if done is not None:
        raise LedgerError(f"{orig_txn_id} was already refunded by {done[0]}")
    ack = conn.execute("SELECT status FROM acks WHERE txn_id = ?", (orig_txn_id,)).fetchone()
    if ack is not None and ack[0] == "rejected":
        raise LedgerError(
            f"{orig_txn_id} was rejected by the platform, so there is nothing to refund"
        )
    seq, prev_hash, txn_id = _next_entry(conn, dev_no)
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
    mirror_tenders(conn, txn_id, orig_txn_id)
    upload = reversal_input(txn, {"seq": seq, "prev_hash": prev_hash})
    digest = entry_hash(upload)
    _sign_and_chain(conn, key, seq, txn_id, upload, digest, "reversal", -fund, settled_at)
    if orig_offline and fund > 0:
        _count_offline(conn, psn_cert, orig_date, -1, -fund)
    _give_back(conn, orig_seq, psn_cert, int(visit_date[:4]))
    return Appended(txn_id, seq, digest, upload)


def _tenders(record: SaleRecord, psn_cash_pay: int) -> tuple[TenderRow, ...]:
    if record.tenders is not None:
        return record.tenders
    method = record.payment_method
    method = method if method in ("bank_card", "mobile") else "cash"
    return ((method, psn_cash_pay, None),) if psn_cash_pay else ()


def _give_back(conn: sqlite3.Connection, orig_seq: int, psn_cert: str, year: int) -> None:
    delta: dict[str, int] = {}
    for phase, path, amount in conn.execute(
        "SELECT phase, path, amount FROM txn_accumulators WHERE seq = ?", (orig_seq,)
    ):
        delta[path] = delta.get(path, 0) + (amount if phase == "after" else -amount)
    for path, change in delta.items():
        if change == 0:
            continue
        if path == "acct_balance":
            conn.execute(
                "UPDATE persons SET acct_balance = acct_balance - ? WHERE psn_cert = ?",
                (change, psn_cert),
            )
            continue
        conn.execute(
            "UPDATE person_pools SET amount = amount - ? "
            "WHERE psn_cert = ? AND year = ? AND kind = ? AND name = ? AND field = ?",
            (change, psn_cert, year, *split_path(path)),
        )


def _count_offline(
    conn: sqlite3.Connection, psn_cert: str, setl_date: str, sales: int, fund: int
) -> None:
    conn.execute(
        "INSERT INTO offline_person_day (psn_cert, setl_date, sales, fund) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (psn_cert, setl_date) DO UPDATE SET sales = sales + excluded.sales, "
        "fund = fund + excluded.fund",
        (psn_cert, setl_date, sales, fund),
    )


def store_accumulators(
    conn: sqlite3.Connection, psn_cert: str, year: int, rows: list[tuple[str, int]]
) -> None:
    """Write a person's accumulators for the year: `(path, amount)` pairs, e.g. from
    `records.accumulator_rows`."""
    pools = []
    for path, amount in rows:
        if path == "acct_balance":
            conn.execute(
                "UPDATE persons SET acct_balance = ? WHERE psn_cert = ?", (amount, psn_cert)
            )
            continue
        pools.append((psn_cert, year, *split_path(path), amount))
    _insert_rows(conn, "person_pools", _POOL_COLUMNS, pools, "INSERT OR REPLACE")


def _local_seconds(at: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS` of `at` in its own time zone."""
    return at.isoformat(" ", "seconds")[:19]
