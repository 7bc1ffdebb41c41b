"""The replay store of accepted e-card token ids (ecard-qr.md check 11 and "Replay and display").

A `cti` is recorded when a sale on that code commits (inside the sale's transaction), or at once by
`medpos ecard verify --replay-db`; a code is accepted once per terminal. Rows are pruned after the
code's expiry, when a replay would fail the expiry check anyway.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["REPLAY_DDL", "open_replay_db", "prune", "record", "seen"]

REPLAY_DDL = """
CREATE TABLE IF NOT EXISTS ecard_replay (
    cti TEXT PRIMARY KEY,
    exp INTEGER NOT NULL
) WITHOUT ROWID;
"""


def seen(conn: sqlite3.Connection, cti: bytes) -> bool:
    """True when a code with this token id was accepted before on this terminal."""
    row = conn.execute("SELECT 1 FROM ecard_replay WHERE cti = ?", (cti.hex(),)).fetchone()
    return row is not None


def record(conn: sqlite3.Connection, cti: bytes, exp: int) -> bool:
    """Record the token id in the caller's transaction; False when it was there already."""
    cur = conn.execute(
        "INSERT INTO ecard_replay (cti, exp) VALUES (?, ?) ON CONFLICT (cti) DO NOTHING",
        (cti.hex(), exp),
    )
    return cur.rowcount == 1


def prune(conn: sqlite3.Connection, now: int, tolerance_s: int = 300) -> int:
    """Forget token ids whose codes expired (beyond the clock tolerance); returns how many."""
    cur = conn.execute("DELETE FROM ecard_replay WHERE exp < ?", (now - tolerance_s,))
    return cur.rowcount


def open_replay_db(path: Path) -> sqlite3.Connection:
    """A standalone replay store (for `medpos ecard verify --replay-db`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=5.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(REPLAY_DDL)
    return conn
