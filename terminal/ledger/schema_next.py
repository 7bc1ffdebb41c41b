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
def m0007_tender(db: Database) -> None:
    # `sale_tenders`: how the person paid their part of each sale (issue 13: cash, bank card,
    # mobile; `given` the cash handed over, on the cash row), written in the sale's own unit of
    # work, append-only; a refund's rows are the sale's negated. Sales made before are filled in
    # here from their one `payment_method` (cash when none). `closures.breakdown`: the closure's
    # figures by method and operator, the self-pay gross and the cash drawer (canonical JSON
    # text, hashed only when present, so older closures keep the hash they were signed with).
    run_script(
        db,
        """
CREATE TABLE sale_tenders (
    sale_id TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('cash', 'bank_card', 'mobile')),
    amount INTEGER NOT NULL,
    given INTEGER,
    PRIMARY KEY (sale_id, method)
) WITHOUT ROWID;
INSERT INTO sale_tenders (sale_id, method, amount)
SELECT txn_id, CASE WHEN payment_method IN ('bank_card', 'mobile') THEN payment_method
    ELSE 'cash' END, psn_cash_pay
FROM txns WHERE kind = 'sale' AND psn_cash_pay <> 0;
INSERT INTO sale_tenders (sale_id, method, amount)
SELECT r.txn_id, st.method, -st.amount
FROM txns r JOIN sale_tenders st ON st.sale_id = r.orig_txn_id WHERE r.kind = 'reversal';
INSERT INTO sale_tenders (sale_id, method, amount)
SELECT self_pay_id, payment_method, total FROM self_pay_sales WHERE total <> 0;
ALTER TABLE closures ADD COLUMN breakdown TEXT;
CREATE TRIGGER sale_tenders_no_update BEFORE UPDATE ON sale_tenders
BEGIN SELECT RAISE(ABORT, 'how a sale was paid is append-only'); END;
CREATE TRIGGER sale_tenders_no_delete BEFORE DELETE ON sale_tenders
BEGIN SELECT RAISE(ABORT, 'how a sale was paid is append-only'); END;
""",
    )


@MIGRATIONS()
def m0008_partial_refund(db: Database) -> None:
    # a partial refund (docs/core.md "Partial refunds") is the ordinary reversal of the whole sale
    # and an ordinary new sale of the lines the customer keeps, committed in one unit of work;
    # this row links the two (and the original), with the quantities given back, so that receipts,
    # history and /verify can show the refund as one. Nothing of it is uploaded: the platform
    # sees the reversal and the sale as they are.
    run_script(
        db,
        """
CREATE TABLE partial_refunds (
    reversal_txn_id TEXT PRIMARY KEY REFERENCES txns(txn_id),
    orig_txn_id TEXT NOT NULL UNIQUE REFERENCES txns(txn_id),
    kept_txn_id TEXT NOT NULL UNIQUE REFERENCES txns(txn_id),
    refunded TEXT NOT NULL,
    reason TEXT NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER partial_refunds_no_update BEFORE UPDATE ON partial_refunds
BEGIN SELECT RAISE(ABORT, 'partial_refunds is append-only'); END;
""",
    )


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


@MIGRATIONS()
def m0011_field(db: Database) -> None:
    # bundles (platform-api.md "Field and fleet additions", docs/field.md): `bundles` is each
    # bundle file this terminal wrote, with its entries in message order (an answer's refusals
    # at the envelope name no txn_id: they are matched by position); `bundle_answers` each
    # answer imported, by its sha256, so that importing it again changes nothing
    run_script(
        db,
        """
CREATE TABLE bundles (
    sha256 TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    written_at TEXT NOT NULL,
    entries TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE bundle_answers (
    sha256 TEXT PRIMARY KEY,
    imported_at TEXT NOT NULL,
    answered_at TEXT NOT NULL,
    bundle TEXT
) WITHOUT ROWID;
""",
    )


@MIGRATIONS()
def m0012_parked_baskets(db: Database) -> None:
    # `parked_baskets`: baskets a cashier set aside (a customer who went to fetch something), to be
    # recalled later on this terminal; kept across a restart. Only the lines and the visit type
    # are kept, never the person: a recalled basket is identified again (docs/ui.md "Park").
    run_script(
        db,
        """
CREATE TABLE parked_baskets (
    basket_id TEXT PRIMARY KEY,
    parked_at TEXT NOT NULL,
    operator_id TEXT,
    label TEXT NOT NULL,
    body TEXT NOT NULL
);
""",
    )


@MIGRATIONS()
def m0013_his_visit_numbers(db: Database) -> None:
    # a registration (2201/2401) looks for an open visit with the same outpatient number; outpatient
    # visits stay `open` after they settle, so without this index each registration read every
    # visit the desk ever opened
    run_script(db, "CREATE INDEX his_visits_number ON his_visits (ipt_otp_no, state);")
