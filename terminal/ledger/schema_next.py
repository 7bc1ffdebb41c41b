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
