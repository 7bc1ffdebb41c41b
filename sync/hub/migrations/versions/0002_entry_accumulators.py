"""Each settled sale keeps the accumulators the platform settled it with, before and after, so a
reversal gives back exactly what the platform's own split took.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("accumulators", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("accumulators")
