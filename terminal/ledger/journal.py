"""The local journal (DESIGN.md "Ledger integrity"; docs/core.md "The journal"): what the sales
chain does not hold, in signed chains of its own.

The sales chain the platform verifies holds sales and reversals only. Self-pay sales and their
refunds and the audit log are chained here, one chain per kind (`self_pay`, `audit`): each entry
has its `seq` in the chain (1, 2, … without gaps), the `ref` of its row (`self_pay_sales.id`,
`audit.id`), `prev_hash` (the previous entry's `hash`, 64 zeros for the first), `hash` (hex SHA-256
of the canonical JSON of chain, seq, prev_hash and the row's content, recomputed from the rows by
`ledger verify`) and `sig` (the device key's Ed25519 signature over the 32 hash bytes). The head of
each chain is also recorded in `meta` (`journal/<chain>`) in the same unit of work, so that cutting
off the newest rows together with their entries is found. Day closures are a signed chain of their
own (`closures.py`).

Rows written before the journal existed are chained by the migration (hashes only: the key is not
at hand there) and signed at the first open with the device key (`sign_pending`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

from sync.protocol.canonical import canonical_json
from sync.protocol.signing import verify_entry_signature
from terminal.ledger.keys import DeviceKey

GENESIS_HASH = "0" * 64  # as records.GENESIS_HASH (not imported: schema imports this module)

__all__ = [
    "CHAINS",
    "JOURNAL_DDL",
    "append",
    "chain_existing",
    "check_journal",
    "sign_pending",
]

JOURNAL_DDL = """
CREATE TABLE journal (
    chain TEXT NOT NULL CHECK (chain IN ('self_pay', 'audit')),
    seq INTEGER NOT NULL,
    ref INTEGER NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    sig TEXT,
    PRIMARY KEY (chain, seq),
    UNIQUE (chain, ref)
) WITHOUT ROWID;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER journal_sign_once BEFORE UPDATE ON journal
WHEN OLD.sig IS NOT NULL OR NEW.hash != OLD.hash OR NEW.prev_hash != OLD.prev_hash
  OR NEW.seq != OLD.seq OR NEW.ref != OLD.ref OR NEW.chain != OLD.chain
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
"""

# chain → (table, the columns its hash covers, in order)
_ROWS = {
    "self_pay": (
        "self_pay_sales",
        (
            "id",
            "self_pay_id",
            "basket_id",
            "settled_at",
            "setl_date",
            "operator",
            "payment_method",
            "total",
            "reason",
            "orig_id",
        ),
    ),
    "audit": ("audit", ("id", "at", "kind", "actor", "detail")),
}
CHAINS = tuple(_ROWS)


def _content(conn: sqlite3.Connection, chain: str, ref: int) -> dict[str, Any] | None:
    """The hashed content of row `ref` of `chain` (a self-pay sale with its lines), or None."""
    table, columns = _ROWS[chain]
    row = conn.execute(
        f"SELECT {', '.join(columns)} FROM {table} WHERE id = ?",  # noqa: S608 - fixed names
        (ref,),
    ).fetchone()
    if row is None:
        return None
    out = dict(zip(columns, row, strict=True))
    if chain == "self_pay":
        out["lines"] = [
            list(line)
            for line in conn.execute(
                "SELECT line_no, code, name, qty, price, amount FROM self_pay_lines "
                "WHERE sale_id = ? ORDER BY line_no",
                (ref,),
            )
        ]
    return out


def _hash(chain: str, seq: int, prev_hash: str, content: dict[str, Any]) -> str:
    body = {"chain": chain, "seq": seq, "prev_hash": prev_hash, "content": content}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def _head(conn: sqlite3.Connection, chain: str) -> tuple[int, str]:
    row = conn.execute(
        "SELECT seq, hash FROM journal WHERE chain = ? ORDER BY seq DESC LIMIT 1", (chain,)
    ).fetchone()
    return (int(row[0]), str(row[1])) if row is not None else (0, GENESIS_HASH)


def _insert(
    conn: sqlite3.Connection, chain: str, ref: int, sign: DeviceKey | None
) -> tuple[int, str]:
    seq, prev = _head(conn, chain)
    seq += 1
    content = _content(conn, chain, ref)
    assert content is not None, f"{chain} row {ref} is written before its journal entry"
    digest = _hash(chain, seq, prev, content)
    sig = sign.sign_b64(bytes.fromhex(digest)) if sign is not None else None
    conn.execute(
        "INSERT INTO journal (chain, seq, ref, prev_hash, hash, sig) VALUES (?, ?, ?, ?, ?, ?)",
        (chain, seq, ref, prev, digest, sig),
    )
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",  # in place: the key's index stays
        (f"journal/{chain}", json.dumps({"seq": seq, "hash": digest})),
    )
    return seq, digest


def append(conn: sqlite3.Connection, key: DeviceKey, chain: str, ref: int) -> None:
    """Chain row `ref` of `chain` (already written in the caller's unit of work), signed."""
    _insert(conn, chain, ref, key)


def chain_existing(conn: sqlite3.Connection) -> None:
    """The migration: chain every row written before the journal existed, unsigned for now."""
    for chain, (table, _) in _ROWS.items():
        ids = [r[0] for r in conn.execute(f"SELECT id FROM {table} ORDER BY id")]  # noqa: S608
        for ref in ids:
            _insert(conn, chain, ref, None)


def sign_pending(conn: sqlite3.Connection, key: DeviceKey) -> int:
    """Sign the entries the migration chained (in the caller's unit of work); how many."""
    rows = conn.execute("SELECT chain, seq, hash FROM journal WHERE sig IS NULL").fetchall()
    for chain, seq, digest in rows:
        conn.execute(
            "UPDATE journal SET sig = ? WHERE chain = ? AND seq = ?",
            (key.sign_b64(bytes.fromhex(digest)), chain, seq),
        )
    return len(rows)


def check_journal(conn: sqlite3.Connection, public: str) -> tuple[str, str] | None:
    """Walk every chain of the journal: `(where, problem)` of the first fault, or None."""
    for chain, (table, _) in _ROWS.items():
        fault = _check_chain(conn, public, chain, table)
        if fault is not None:
            return fault
    return None


def _check_chain(
    conn: sqlite3.Connection, public: str, chain: str, table: str
) -> tuple[str, str] | None:
    prev, expected, last_ref = GENESIS_HASH, 1, 0
    refs = iter(conn.execute(f"SELECT id FROM {table} ORDER BY id"))  # noqa: S608
    entries = conn.execute(
        "SELECT seq, ref, prev_hash, hash, sig FROM journal WHERE chain = ? ORDER BY seq",
        (chain,),
    ).fetchall()
    for seq, ref, prev_hash, digest, sig in entries:
        where = f"{chain} journal entry {expected}"
        if seq != expected:
            return where, f"is missing (the next entry found is {seq}): entries were deleted"
        row_id = next(refs, None)
        if row_id is None or row_id[0] > ref:
            return where, f"{table} row {ref} is missing: a row was deleted"
        if row_id[0] != ref:
            return f"{table} row {row_id[0]}", "is in no journal entry: a row was added"
        if ref <= last_ref:
            return where, "its rows are out of order"
        if prev_hash != prev:
            return where, "prev_hash does not match the previous entry's hash"
        content = _content(conn, chain, ref)
        assert content is not None
        if _hash(chain, seq, prev_hash, content) != digest:
            return where, f"{table} row {ref} does not match its hash (an edited row)"
        if sig is None:
            return where, "is not signed yet: open the terminal once with its device key"
        if not verify_entry_signature(public, digest, sig):
            return where, "signature is not the device's"
        prev, expected, last_ref = digest, expected + 1, ref
    extra = next(refs, None)
    if extra is not None:
        return f"{table} row {extra[0]}", "is in no journal entry: a row was added"
    head = conn.execute("SELECT value FROM meta WHERE key = ?", (f"journal/{chain}",)).fetchone()
    recorded = json.loads(head[0]) if head is not None else {"seq": 0, "hash": GENESIS_HASH}
    if recorded != {"seq": expected - 1, "hash": prev}:
        return (
            f"{chain} journal",
            f"ends at entry {expected - 1} but the last write recorded entry {recorded['seq']}: "
            "entries were cut off",
        )
    return None
