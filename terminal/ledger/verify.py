"""`medpos ledger verify` (DESIGN.md "Ledger integrity").

Every entry's upload input is rebuilt from the rows that reports and sync read, hashed, checked
against the stored hash, the previous entry's hash and the device signature; then the chain's end
is checked against its anchors (the head recorded with each commit, the last closure, the outbox
and the acknowledgements), so that cutting off the newest entries is found too. The first
disagreement is reported with its `seq` (or the anchor's name); nothing is repaired.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from sync.protocol.signing import verify_entry_signature
from terminal.ledger.anchors import closure_faults, platform_faults
from terminal.ledger.closures import closure_hash
from terminal.ledger.journal import check_journal
from terminal.ledger.records import (
    GENESIS_HASH,
    LINES_SELECT,
    TXN_COLUMNS,
    entry_hash,
    reversal_input,
    sale_input,
)
from terminal.ledger.store import SqliteLedger

__all__ = ["VerifyReport", "verify_ledger", "verify_platform"]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome: `ok`, how much was checked, and where it first went wrong."""

    ok: bool
    entries: int
    closures: int
    head_seq: int
    bad_seq: int | None = None
    anchor: str | None = None
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def _grouped(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    """Rows ordered by their first column (seq), grouped by it."""
    group: list[tuple[Any, ...]] = []
    current: int | None = None
    for row in rows:
        if row[0] != current:
            if current is not None:
                yield current, group
            current, group = row[0], []
        group.append(row)
    if current is not None:
        yield current, group


class _Lookahead:
    """Consumes an ordered (seq, rows) stream in step with the ledger walk."""

    def __init__(self, stream: Iterator[tuple[int, list[tuple[Any, ...]]]]) -> None:
        self._stream = stream
        self._next = next(stream, None)

    def take(self, seq: int) -> tuple[list[tuple[Any, ...]], int | None]:
        """Rows for `seq`, and the first seq found that has rows but no ledger entry (orphan)."""
        orphan = None
        while self._next is not None and self._next[0] < seq:
            orphan = orphan if orphan is not None else self._next[0]
            self._next = next(self._stream, None)
        if self._next is not None and self._next[0] == seq:
            rows = self._next[1]
            self._next = next(self._stream, None)
            return rows, orphan
        return [], orphan

    def rest(self) -> int | None:
        return self._next[0] if self._next is not None else None


@dataclass(frozen=True, slots=True)
class _Span:
    """What a walk over entries [lo, hi] found: a fault, or its count, first prev and last hash."""

    lo: int
    count: int
    first_prev: str | None
    last_hash: str | None
    bad_seq: int | None = None
    problem: str | None = None


def _walk(conn: sqlite3.Connection, public: str, dev_no: str, lo: int, hi: int | None) -> _Span:
    """Check entries lo..hi (hi None: to the end, including rows past the last entry)."""
    upper = hi if hi is not None else 2**62
    where = "WHERE seq >= ? AND seq <= ? ORDER BY seq"
    bounds = (lo, upper)
    txn_iter = iter(conn.execute(f"SELECT {', '.join(TXN_COLUMNS)} FROM txns {where}", bounds))
    lines = _Lookahead(_grouped(iter(conn.execute(f"{LINES_SELECT} {where}, line_no", bounds))))
    accs = _Lookahead(
        _grouped(iter(conn.execute(f"SELECT * FROM txn_accumulators {where}, phase, path", bounds)))
    )
    prev: str | None = None
    first_prev: str | None = None
    count = 0
    expected = lo
    txn_row = next(txn_iter, None)

    def bad(seq: int, problem: str) -> _Span:
        return _Span(lo, count, first_prev, prev, seq, problem)

    for seq, txn_id, prev_hash, stored_hash, sig in conn.execute(
        f"SELECT seq, txn_id, prev_hash, hash, sig FROM ledger {where}", bounds
    ):
        if seq != expected:
            return bad(expected, f"entry {expected} is missing (next entry found is {seq})")
        if txn_row is not None and txn_row[1] < seq:
            return bad(txn_row[1], "a transaction row with no ledger entry")
        if txn_row is None or txn_row[1] != seq:
            return bad(seq, "the transaction row of this entry is missing")
        txn = dict(zip(TXN_COLUMNS, txn_row, strict=True))
        txn_row = next(txn_iter, None)
        line_rows, orphan = lines.take(seq)
        acc_rows, orphan2 = accs.take(seq)
        if orphan is not None or orphan2 is not None:
            return bad(min(x for x in (orphan, orphan2) if x is not None), "rows with no entry")
        if txn["txn_id"] != txn_id or txn_id != f"{dev_no}-{seq}":
            return bad(seq, f"transaction id {txn_id!r} does not belong at this position")
        if prev is None:
            first_prev = prev_hash  # checked against the previous span by the caller
        elif prev_hash != prev:
            return bad(seq, "prev_hash does not match the previous entry's hash")
        chain = {"seq": seq, "prev_hash": prev_hash}
        if txn["kind"] == "sale":
            upload = sale_input(txn, chain, line_rows, acc_rows)
        else:
            upload = reversal_input(txn, chain)
        digest = entry_hash(upload)
        if digest != stored_hash:
            return bad(seq, "content does not match its hash (an edited row)")
        if not verify_entry_signature(public, digest, sig):
            return bad(seq, "signature is not the device's")
        prev = digest
        count += 1
        expected += 1
    if hi is not None and count != hi - lo + 1:
        return bad(expected, f"entry {expected} is missing")
    if txn_row is not None:
        return bad(txn_row[1], "a transaction row with no ledger entry")
    for stream in (lines, accs):
        extra = stream.rest()
        if extra is not None:
            return bad(extra, "rows with no ledger entry")
    return _Span(lo, count, first_prev, prev)


def _walk_file(args: tuple[str, str, str, int, int | None]) -> _Span:
    """`_walk` in a worker process, on its own read-only connection."""
    path, public, dev_no, lo, hi = args
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _walk(conn, public, dev_no, lo, hi)
    finally:
        conn.close()


PARALLEL_FROM = 20000  # entries; below this, starting worker processes costs more than it saves


def verify_ledger(ledger: SqliteLedger, workers: int | None = None) -> VerifyReport:
    """Walk the chain and its anchors; the report names the first bad `seq` or anchor.

    Entries are independent but for the link to their predecessor, so a long ledger is checked in
    contiguous spans by worker processes (one per core) and the spans' ends are linked here.
    """
    public = ledger.get_meta("device_public_key")
    if public is None:
        return VerifyReport(False, 0, 0, 0, anchor="meta", problem="no device public key recorded")
    dev_no = ledger.get_meta("dev_no") or ledger.dev_no
    last = ledger.conn.execute("SELECT MAX(seq) FROM ledger").fetchone()[0] or 0
    if workers is None:
        workers = min(os.cpu_count() or 1, 8) if last >= PARALLEL_FROM else 1
    if workers <= 1:
        spans = [_walk(ledger.conn, public, dev_no, 1, None)]
    else:
        size = -(-last // workers)
        jobs = [
            (str(ledger.path), public, dev_no, lo, None if lo + size > last else lo + size - 1)
            for lo in range(1, last + 1, size)
        ]
        with ProcessPoolExecutor(len(jobs), mp_context=_worker_context()) as pool:
            spans = list(pool.map(_walk_file, jobs))
    prev = GENESIS_HASH
    count = 0
    for span in spans:
        if span.first_prev is not None and span.first_prev != prev:
            return VerifyReport(
                False,
                count,
                0,
                span.lo - 1,
                bad_seq=span.lo,
                problem="prev_hash does not match the previous entry's hash",
            )
        count += span.count
        if span.bad_seq is not None:
            return VerifyReport(
                False,
                count,
                0,
                span.lo + span.count - 1,
                bad_seq=span.bad_seq,
                problem=span.problem,
            )
        prev = span.last_hash or prev
    return _check_anchors(ledger, count, count, prev, public)


def _worker_context() -> Any:
    """Workers forked from a fork server that imported this module once: a spawned worker
    (a fresh interpreter each) imported the ledger, sqlite-utils and numpy again, some 0.5 s of
    CPU apiece; the server is one process with no threads, so forking it is safe where forking
    this one (its open SQLite connection, any threads) is not."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _check_anchors(
    ledger: SqliteLedger, count: int, head_seq: int, head_hash: str, public: str
) -> VerifyReport:
    def anchor(name: str, problem: str, closures: int = 0) -> VerifyReport:
        return VerifyReport(False, count, closures, head_seq, anchor=name, problem=problem)

    recorded_seq = ledger.get_meta("head_seq")
    recorded_hash = ledger.get_meta("head_hash")
    if (recorded_seq or "0") != str(head_seq) or (recorded_hash or GENESIS_HASH) != head_hash:
        return anchor(
            "head",
            f"the chain ends at seq {head_seq} but the last commit recorded seq {recorded_seq}: "
            "entries were cut off or added",
        )
    hashes = {seq: h for seq, h in ledger.conn.execute("SELECT seq, hash FROM ledger")}
    prev_closure = GENESIS_HASH
    closures = 0
    for row in ledger.query("SELECT * FROM closures ORDER BY closure_no"):
        c = dict(row)
        if c["prev_closure_hash"] != prev_closure:
            return anchor(f"closure {c['setl_date']}", "does not chain to the previous closure")
        if closure_hash(c) != c["hash"]:
            return anchor(f"closure {c['setl_date']}", "content does not match its hash", closures)
        if not verify_entry_signature(public, c["hash"], c["sig"]):
            return anchor(f"closure {c['setl_date']}", "signature is not the device's", closures)
        if c["last_seq"] is not None and hashes.get(c["last_seq"]) != c["last_hash"]:
            return anchor(
                f"closure {c['setl_date']}",
                f"names entry {c['last_seq']} with a hash the ledger does not have",
                closures,
            )
        prev_closure = c["hash"]
        closures += 1
    for table in ("outbox", "acks"):
        rows = ledger.query(f"SELECT txn_id, seq FROM {table}")  # noqa: S608 - fixed names
        for r in rows:
            if r["seq"] > head_seq or r["seq"] not in hashes:
                return anchor(
                    table,
                    f"{r['txn_id']} (seq {r['seq']}) is not in the ledger: entries were cut off",
                    closures,
                )
    acked = ledger.get_meta("last_acked_seq")
    if acked is not None and int(acked) > head_seq:
        return anchor("acknowledgements", f"seq {acked} was acknowledged but is not in the ledger")
    fault = closure_faults(ledger) or check_journal(ledger.conn, public)
    if fault is not None:
        return anchor(fault[0], fault[1], closures)
    return VerifyReport(True, count, closures, head_seq)


def verify_platform(ledger: SqliteLedger, workers: int | None = None) -> VerifyReport:
    """`verify_ledger`, then the sales chain against what the platform acknowledged (the hash
    of each acknowledged entry, the platform's chain head): the first difference by `seq`."""
    report = verify_ledger(ledger, workers)
    if not report.ok:
        return report
    fault = platform_faults(ledger)
    if fault is None:
        return report
    return VerifyReport(
        False,
        report.entries,
        report.closures,
        report.head_seq,
        bad_seq=fault[0],
        anchor="platform",
        problem=fault[1],
    )


def report_text(report: VerifyReport) -> str:
    """One line for the CLI."""
    if report.ok:
        return (
            f"ledger ok: {report.entries} entries, {report.closures} closures, "
            f"head seq {report.head_seq}"
        )
    where = f"seq {report.bad_seq}" if report.bad_seq is not None else f"anchor {report.anchor}"
    return f"ledger corrupt at {where}: {report.problem}"
