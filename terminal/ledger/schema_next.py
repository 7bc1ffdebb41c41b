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
def m0010_his(db: Database) -> None:
    # his-api.md: a hospital system's visits and fee lines (never deleted: `deleted` and
    # `cancelled` are states), its settlements (setl_id = the sale's txn_id), the answers stored
    # by msgid (idempotence, 2601), the deferred settlements, and the identifications made at
    # this terminal (card or e-card) that 1101/2201/2401 and `GET /his/v1/identity` rely on.
    # `audit_actor`: "is this operator signed in" is the operator's last sign_in/sign_out.
    run_script(
        db,
        """
CREATE TABLE his_visits (
    mdtrt_id TEXT PRIMARY KEY,
    n INTEGER NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    psn_no TEXT NOT NULL,
    psn_cert TEXT NOT NULL,
    ipt_otp_no TEXT NOT NULL,
    med_type TEXT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX his_visits_state ON his_visits (state);
CREATE INDEX his_visits_psn ON his_visits (psn_no);
CREATE TRIGGER his_visits_no_delete BEFORE DELETE ON his_visits
BEGIN SELECT RAISE(ABORT, 'visits are never deleted: cancel them'); END;
CREATE TABLE his_lines (
    mdtrt_id TEXT NOT NULL,
    feedetl_sn TEXT NOT NULL,
    seq INTEGER NOT NULL,
    chrg_bchno TEXT,
    init_feedetl_sn TEXT,
    med_list_codg TEXT NOT NULL,
    cnt TEXT NOT NULL,
    pric TEXT NOT NULL,
    det_item_fee_sumamt INTEGER NOT NULL,
    fee_ocur_time TEXT NOT NULL,
    bilg_dr_codg TEXT,
    trac TEXT,
    trdn_flag TEXT,
    state TEXT NOT NULL,
    setl_id TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (mdtrt_id, feedetl_sn)
) WITHOUT ROWID;
CREATE TRIGGER his_lines_no_delete BEFORE DELETE ON his_lines
BEGIN SELECT RAISE(ABORT, 'fee lines are never deleted: mark them deleted'); END;
CREATE TABLE his_settlements (
    setl_id TEXT PRIMARY KEY,
    mdtrt_id TEXT NOT NULL,
    chrg_bchno TEXT,
    mid_setl_flag TEXT,
    state TEXT NOT NULL,
    rev_setl_id TEXT,
    msgid TEXT NOT NULL,
    at TEXT NOT NULL,
    output TEXT NOT NULL
);
CREATE INDEX his_settlements_visit ON his_settlements (mdtrt_id);
CREATE TABLE his_messages (
    msgid TEXT PRIMARY KEY,
    infno TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    answer TEXT NOT NULL,
    undo TEXT,
    at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE his_deferred (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mdtrt_id TEXT NOT NULL,
    chrg_bchno TEXT,
    total INTEGER NOT NULL,
    code TEXT NOT NULL,
    msgid TEXT NOT NULL,
    at TEXT NOT NULL,
    cleared_at TEXT
);
CREATE TABLE his_identifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_s REAL NOT NULL,
    mdtrt_cert_type TEXT NOT NULL,
    mdtrt_cert_no TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX his_identifications_cert ON his_identifications (mdtrt_cert_type, mdtrt_cert_no);
CREATE INDEX audit_actor ON audit (actor, kind);
ALTER TABLE txns ADD COLUMN visit_extra TEXT;
ALTER TABLE txn_lines ADD COLUMN extra TEXT;
""",
    )
