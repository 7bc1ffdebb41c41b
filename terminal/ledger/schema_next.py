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
