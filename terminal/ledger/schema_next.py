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
