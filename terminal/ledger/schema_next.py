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
