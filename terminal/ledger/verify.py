"""`medpos ledger verify` (DESIGN.md "Ledger integrity").

Every entry's upload input is rebuilt from the rows that reports and sync read, hashed, checked
against the stored hash, the previous entry's hash and the device signature; then the chain's end
is checked against its anchors (the head recorded with each commit, the last closure, the outbox
and the acknowledgements), so that cutting off the newest entries is found too. The first
disagreement is reported with its `seq` (or the anchor's name); nothing is repaired.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from terminal.ledger.closures import closure_hash
from terminal.ledger.records import (
    GENESIS_HASH,
    TXN_COLUMNS,
    entry_hash,
    reversal_input,
    sale_input,
)
from terminal.ledger.store import SqliteLedger

__all__ = ["VerifyReport", "verify_ledger"]


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


def verify_ledger(ledger: SqliteLedger) -> VerifyReport:
    """Walk the chain and its anchors; the report names the first bad `seq` or anchor."""
    conn = ledger.conn
    public = ledger.get_meta("device_public_key")
    if public is None:
        return VerifyReport(False, 0, 0, 0, anchor="meta", problem="no device public key recorded")
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public))
    dev_no = ledger.get_meta("dev_no") or ledger.dev_no

    txns = conn.execute(f"SELECT {', '.join(TXN_COLUMNS)} FROM txns ORDER BY seq")
    lines = _Lookahead(
        _grouped(iter(conn.execute("SELECT * FROM txn_lines ORDER BY seq, line_no")))
    )
    accs = _Lookahead(
        _grouped(iter(conn.execute("SELECT * FROM txn_accumulators ORDER BY seq, phase, path")))
    )
    prev = GENESIS_HASH
    count = 0
    expected = 1
    txn_iter = iter(txns)
    txn_row = next(txn_iter, None)

    def bad(seq: int, problem: str) -> VerifyReport:
        return VerifyReport(False, count, 0, expected - 1, bad_seq=seq, problem=problem)

    for seq, txn_id, prev_hash, stored_hash, sig in conn.execute(
        "SELECT seq, txn_id, prev_hash, hash, sig FROM ledger ORDER BY seq"
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
        if prev_hash != prev:
            return bad(seq, "prev_hash does not match the previous entry's hash")
        chain = {"seq": seq, "prev_hash": prev_hash}
        if txn["kind"] == "sale":
            upload = sale_input(txn, chain, line_rows, acc_rows)
        else:
            upload = reversal_input(txn, chain)
        digest = entry_hash(upload)
        if digest != stored_hash:
            return bad(seq, "content does not match its hash (an edited row)")
        try:
            key.verify(base64.b64decode(sig), bytes.fromhex(digest))
        except (InvalidSignature, ValueError):
            return bad(seq, "signature is not the device's")
        prev = digest
        count += 1
        expected += 1
    head_seq = expected - 1
    if txn_row is not None:
        return bad(txn_row[1], "a transaction row with no ledger entry")
    for stream in (lines, accs):
        extra = stream.rest()
        if extra is not None:
            return bad(extra, "rows with no ledger entry")
    return _check_anchors(ledger, count, head_seq, prev, key)


def _check_anchors(
    ledger: SqliteLedger, count: int, head_seq: int, head_hash: str, key: Ed25519PublicKey
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
        try:
            key.verify(base64.b64decode(c["sig"]), bytes.fromhex(c["hash"]))
        except (InvalidSignature, ValueError):
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
    return VerifyReport(True, count, closures, head_seq)


def report_text(report: VerifyReport) -> str:
    """One line for the CLI."""
    if report.ok:
        return (
            f"ledger ok: {report.entries} entries, {report.closures} closures, "
            f"head seq {report.head_seq}"
        )
    where = f"seq {report.bad_seq}" if report.bad_seq is not None else f"anchor {report.anchor}"
    return f"ledger corrupt at {where}: {report.problem}"
