"""The terminal database schema as numbered migrations (sqlite-utils `Migrations`).

Money is INTEGER fen in every column. Quantities and prices (up to four places) are TEXT decimals as
the claim gave them. The sales chain (`ledger`) and the audit log are append-only: triggers refuse
UPDATE and DELETE, so only a hand with a raw editor can change them, and `ledger verify` finds that.
Self-pay sales (`self_pay_sales`, `self_pay_lines`) are append-only too, but outside the chain; a
self-pay refund is a row of `self_pay_sales` of its own (negative total, `orig_id` the sale's id).
"""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database, Migrations

from terminal.ledger.journal import JOURNAL_DDL, chain_existing
from terminal.ledger.replay import REPLAY_DDL
from terminal.settlement.output import LINE_MONEY, SETLINFO_FIELDS

__all__ = ["LINE_MONEY", "MIGRATIONS", "SETLINFO_MONEY", "run_script"]

# settlement.md "Output": every money field of `setlinfo` (the ratio is TEXT), and of a line
SETLINFO_MONEY = tuple(f for f in SETLINFO_FIELDS if f != "pool_prop_selfpay")

MIGRATIONS = Migrations("medpos-terminal")


def _money_columns(names: tuple[str, ...]) -> str:
    return ",\n".join(f"    {n} INTEGER" for n in names)


def run_script(db: Database, script: str) -> None:
    """Run each statement of `script` in the caller's transaction (executescript would commit)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement in migration: {statement[:60]!r}")


@MIGRATIONS()
def m0001_core(db: Database) -> None:
    run_script(
        db,
        f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE txns (
    txn_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('sale', 'reversal')),
    settled_at TEXT NOT NULL,
    setl_date TEXT NOT NULL,
    offline INTEGER NOT NULL,
    operator TEXT,
    payment_method TEXT,
    mdtrt_cert_type TEXT,
    mdtrt_cert_no TEXT,
    card_no TEXT,
    card_sn TEXT,
    psn_name TEXT,
    psn_no TEXT,
    psn_cert TEXT,
    insutype TEXT,
    psn_type TEXT,
    insuplc_admdvs TEXT,
    flags TEXT,
    med_type TEXT,
    inst_level TEXT,
    visit_date TEXT,
    policy_version TEXT,
    scheme TEXT,
    catalogue_version INTEGER,
    pool_prop_selfpay TEXT,
{_money_columns(SETLINFO_MONEY)},
    orig_txn_id TEXT REFERENCES txns(txn_id),
    reason TEXT
);
CREATE INDEX txns_date ON txns (setl_date, seq);
CREATE INDEX txns_person_date ON txns (psn_cert, setl_date);
CREATE UNIQUE INDEX txns_one_reversal ON txns (orig_txn_id) WHERE orig_txn_id IS NOT NULL;

CREATE TABLE txn_lines (
    seq INTEGER NOT NULL,
    line_no INTEGER NOT NULL,
    code TEXT NOT NULL,
    name TEXT,
    chrgitm_lv TEXT,
    covered INTEGER NOT NULL,
    reason TEXT,
    qty TEXT NOT NULL,
    price TEXT NOT NULL,
{_money_columns(LINE_MONEY)},
    PRIMARY KEY (seq, line_no)
) WITHOUT ROWID;

CREATE TABLE txn_accumulators (
    seq INTEGER NOT NULL,
    phase TEXT NOT NULL CHECK (phase IN ('before', 'after')),
    path TEXT NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (seq, phase, path)
) WITHOUT ROWID;

CREATE TABLE ledger (
    seq INTEGER PRIMARY KEY,
    txn_id TEXT NOT NULL UNIQUE,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    sig TEXT NOT NULL
);
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

CREATE TABLE outbox (
    txn_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    fund_pay_sumamt INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'parked')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at TEXT
);

CREATE TABLE acks (
    txn_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    status TEXT NOT NULL,
    setl_id TEXT,
    reason TEXT,
    platform_result TEXT,
    acked_at TEXT NOT NULL
);

CREATE TABLE persons (
    psn_cert TEXT PRIMARY KEY,
    psn_no TEXT,
    name TEXT,
    card_no TEXT,
    insutype TEXT NOT NULL,
    psn_type TEXT NOT NULL,
    insuplc_admdvs TEXT NOT NULL,
    flags TEXT NOT NULL,
    acct_balance INTEGER NOT NULL,
    source TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX persons_card ON persons (card_no);

CREATE TABLE person_pools (
    psn_cert TEXT NOT NULL,
    year INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('pools', 'supplements')),
    name TEXT NOT NULL,
    field TEXT NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (psn_cert, year, kind, name, field)
) WITHOUT ROWID;

CREATE TABLE refdata (
    kind TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    sig TEXT,
    received_at TEXT NOT NULL,
    confirmed_at TEXT NOT NULL
);

CREATE TABLE closures (
    closure_no INTEGER PRIMARY KEY,
    setl_date TEXT NOT NULL UNIQUE,
    first_seq INTEGER,
    last_seq INTEGER,
    last_hash TEXT NOT NULL,
    prev_closure_hash TEXT NOT NULL,
    sale_count INTEGER NOT NULL,
    reversal_count INTEGER NOT NULL,
{_money_columns(SETLINFO_MONEY[:-1])},
    closed_at TEXT NOT NULL,
    operator TEXT,
    hash TEXT NOT NULL,
    sig TEXT NOT NULL
);
CREATE TRIGGER closures_no_update BEFORE UPDATE ON closures
BEGIN SELECT RAISE(ABORT, 'closures are append-only'); END;
CREATE TRIGGER closures_no_delete BEFORE DELETE ON closures
BEGIN SELECT RAISE(ABORT, 'closures are append-only'); END;

CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT,
    detail TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
""",
    )
    run_script(db, REPLAY_DDL)


@MIGRATIONS()
def m0002_offline_person_day(db: Database) -> None:
    # running totals for the per-person offline limits: one row read per sale however many sales
    # that person had that day (kept in the sale's and the refund's own transaction)
    run_script(
        db,
        """
CREATE TABLE offline_person_day (
    psn_cert TEXT NOT NULL,
    setl_date TEXT NOT NULL,
    sales INTEGER NOT NULL,
    fund INTEGER NOT NULL,
    PRIMARY KEY (psn_cert, setl_date)
) WITHOUT ROWID;
""",
    )


@MIGRATIONS()
def m0003_self_pay(db: Database) -> None:
    # self-pay sales (自费, no insurance): outside the sales chain, the outbox and the persons,
    # never uploaded; append-only like the audit log. A closure made from now on also counts them
    # (three columns that older closures leave NULL, so their hashes stay as they were signed).
    run_script(
        db,
        """
CREATE TABLE self_pay_sales (
    id INTEGER PRIMARY KEY,
    self_pay_id TEXT NOT NULL UNIQUE,
    basket_id TEXT NOT NULL UNIQUE,
    settled_at TEXT NOT NULL,
    setl_date TEXT NOT NULL,
    operator TEXT,
    payment_method TEXT NOT NULL CHECK (payment_method IN ('cash', 'bank_card', 'mobile')),
    total INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX self_pay_sales_date ON self_pay_sales (setl_date, id);

CREATE TABLE self_pay_lines (
    sale_id INTEGER NOT NULL REFERENCES self_pay_sales(id),
    line_no INTEGER NOT NULL,
    code TEXT NOT NULL,
    name TEXT,
    qty TEXT NOT NULL,
    price TEXT NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (sale_id, line_no)
) WITHOUT ROWID;

CREATE TRIGGER self_pay_sales_no_update BEFORE UPDATE ON self_pay_sales
BEGIN SELECT RAISE(ABORT, 'self-pay sales are append-only'); END;
CREATE TRIGGER self_pay_sales_no_delete BEFORE DELETE ON self_pay_sales
BEGIN SELECT RAISE(ABORT, 'self-pay sales are append-only'); END;
CREATE TRIGGER self_pay_lines_no_update BEFORE UPDATE ON self_pay_lines
BEGIN SELECT RAISE(ABORT, 'self-pay sales are append-only'); END;
CREATE TRIGGER self_pay_lines_no_delete BEFORE DELETE ON self_pay_lines
BEGIN SELECT RAISE(ABORT, 'self-pay sales are append-only'); END;

ALTER TABLE closures ADD COLUMN self_pay_count INTEGER;
ALTER TABLE closures ADD COLUMN self_pay_total INTEGER;
ALTER TABLE closures ADD COLUMN self_pay_last_id INTEGER;
""",
    )


@MIGRATIONS()
def m0004_self_pay_refund(db: Database) -> None:
    # a self-pay refund is a new row of `self_pay_sales` with the negated total and lines and
    # `orig_id` the refunded sale's id, so a day's and a closure's sums and `self_pay_last_id`
    # cover refunds with no new closure field; at most one refund per sale (as
    # `txns_one_reversal`)
    run_script(
        db,
        """
ALTER TABLE self_pay_sales ADD COLUMN orig_id INTEGER REFERENCES self_pay_sales(id);
CREATE UNIQUE INDEX self_pay_one_refund ON self_pay_sales (orig_id) WHERE orig_id IS NOT NULL;
""",
    )


@MIGRATIONS()
def m0005_journal(db: Database) -> None:
    # the journal (terminal/ledger/journal.py): self-pay sales and the audit log in signed chains.
    # Rows written before are chained here with their hashes; the key is not at hand in a
    # migration, so they are signed at the next open with the device key (`journal_unsigned`).
    # The closures' head and the platform's acknowledged hashes become anchors `ledger verify`
    # checks (docs/core.md "The journal").
    run_script(
        db,
        JOURNAL_DDL
        + """
ALTER TABLE acks ADD COLUMN hash TEXT;
UPDATE acks SET hash = (SELECT l.hash FROM ledger l WHERE l.seq = acks.seq);
INSERT INTO meta (key, value)
SELECT 'closure_head', json_object('closure_no', closure_no, 'hash', hash)
FROM closures ORDER BY closure_no DESC LIMIT 1;
""",
    )
    chain_existing(db.conn)
    if db.execute("SELECT 1 FROM journal LIMIT 1").fetchone() is not None:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('journal_unsigned', '1')")


@MIGRATIONS()
def m0006_web_trust(db: Database) -> None:
    # `sale_baskets`: a caller's idempotency key for an insurance sale (`basket_id`), written in
    # the sale's own unit of work with the answer given, so a caller retrying after a lost answer
    # gets that answer and nothing is sold twice. `pin_failures`: wrong PINs per operator id, so
    # that the sign-in lockout counts one by one and survives a restart.
    run_script(
        db,
        """
CREATE TABLE sale_baskets (
    basket_id TEXT PRIMARY KEY,
    txn_id TEXT NOT NULL,
    answer TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE pin_failures (
    operator_id TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_at REAL NOT NULL
) WITHOUT ROWID;
""",
    )
