"""The fleet's heartbeats (platform-api.md "Field and fleet additions", 9201): the latest one per
device, for the fleet console; and the console's operators (a scrypt hash of each password).

Revision ID: 0008_fleet
Revises: 0004 (the brief names it "0004_refdata_access": that file's revision id is "0004")
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_fleet"
down_revision = "0004"  # the lead re-chains the wave's migrations at merge
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("dev_no", sa.String(64), primary_key=True),
        sa.Column("received_at", sa.BigInteger, nullable=False),
        sa.Column("sent_at", sa.String(19), nullable=False),
        sa.Column("queue", sa.Integer, nullable=False),
        sa.Column("oldest_unsynced_at", sa.String(19)),
        sa.Column("parked", sa.Integer, nullable=False),
        sa.Column("chain_seq", sa.BigInteger, nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=False),
        sa.Column("refdata", sa.Text, nullable=False),
        sa.Column("app_version", sa.String(32), nullable=False),
        sa.Column("offline_since", sa.String(19)),
    )
    op.create_table(
        "operators",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("operators")
    op.drop_table("heartbeats")
