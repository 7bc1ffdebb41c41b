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
