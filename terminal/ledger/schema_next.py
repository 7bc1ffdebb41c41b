"""The terminal database's migrations from m0007 on; `schema.py` holds m0001–m0006.

One `Migrations` list (`schema.MIGRATIONS`), applied in the order the functions are registered:
`schema.py`'s first, then these. A migration is never edited once released; a change is a new one.
"""

from __future__ import annotations

from sqlite_utils import Database

from terminal.ledger.schema import MIGRATIONS, run_script

__all__ = ["migrate", "run_script"]


def migrate(db: Database) -> None:
    """Apply every pending migration."""
    MIGRATIONS.apply(db)


@MIGRATIONS()
def m0009_trace_codes(db: Database) -> None:
    # trace-codes.md "Uniqueness on the terminal". `trace_codes`: every code this terminal sold,
    # opened or took back, written in the sale's own unit of work. `trace_takes`: what each sale
    # took (a code, or packages of no-code stock when `code` is NULL) and the code's row before,
    # so a reversal gives exactly that back. `trace_nocode`: no-code stock counted down per item.
    # `trace_others`: the codes of the institution's other terminals (refdata kind `trace`).
    # `trace_reports`: the 3505 trace reports of self-pay sales and refunds, a queue of its own
    # (in rowid order, outside the ledger chain), kept with the platform's answer when done.
    # `txn_lines` keep the line's codes as sold (JSON lists; NULL: none), which the upload, and
    # so the entry's hash, carries.
    run_script(
        db,
        """
CREATE TABLE trace_codes (
    code TEXT PRIMARY KEY,
    format TEXT NOT NULL,
    gtin TEXT,
    status TEXT NOT NULL CHECK (status IN ('sold', 'opened', 'returned')),
    remaining TEXT,
    txn_id TEXT NOT NULL,
    feedetl_sn TEXT,
    at TEXT NOT NULL
);
CREATE TABLE trace_takes (
    txn_id TEXT NOT NULL,
    line_no INTEGER NOT NULL,
    code TEXT,
    item_code TEXT NOT NULL,
    packages INTEGER NOT NULL DEFAULT 0,
    units TEXT,
    duplicate INTEGER NOT NULL DEFAULT 0,
    before TEXT
);
CREATE INDEX trace_takes_txn ON trace_takes (txn_id);
CREATE TABLE trace_nocode (
    item_code TEXT PRIMARY KEY,
    taken INTEGER NOT NULL DEFAULT 0,
    open_units TEXT NOT NULL DEFAULT '0'
);
CREATE TABLE trace_others (
    code TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    remaining TEXT
);
CREATE TABLE trace_reports (
    txn_id TEXT PRIMARY KEY,
    input TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'parked', 'done')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at TEXT,
    created_at TEXT NOT NULL,
    answer TEXT
);
ALTER TABLE txn_lines ADD COLUMN trac TEXT;
ALTER TABLE txn_lines ADD COLUMN trdn_flag TEXT;
ALTER TABLE txn_lines ADD COLUMN trac_format TEXT;
""",
    )
