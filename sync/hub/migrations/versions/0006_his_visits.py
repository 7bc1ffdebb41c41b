"""A hospital visit's fields with each entry (his-api.md "What is uploaded"): `entries.visit`.

Revision ID: 0006_his_visits
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_his_visits"
# the brief names "0004_refdata_access"; the stored revision id of that migration is "0004"
down_revision = "0005_trace_codes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("visit", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("visit")
