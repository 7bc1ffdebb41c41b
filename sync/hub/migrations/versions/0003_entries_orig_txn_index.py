"""An index on `entries.orig_txn_id`: each settled sale looks for a reversal held for it, which
without the index read every entry of the platform (the drain slowed as the table grew).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("entries_orig_txn", "entries", ["orig_txn_id"])


def downgrade() -> None:
    op.drop_index("entries_orig_txn", table_name="entries")
