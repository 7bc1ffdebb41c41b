"""The fleet's heartbeats (platform-api.md "Field and fleet additions", 9201): the latest one per
device, for the fleet console; the console's operators (a scrypt hash of each password); the
indexes the console's queries need.

Revision ID: 0008_fleet
Revises: 0004 (the brief names it "0004_refdata_access": that file's revision id is "0004")
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_fleet"
down_revision = "0006_his_visits"
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
        sa.Column("refdata_behind_since", sa.BigInteger),
        sa.Column("platform_seq", sa.BigInteger, nullable=False),
        sa.Column("rolled_back", sa.Boolean, nullable=False),
    )
    # the console's alert counts, each a range of one index (docs/scale.md "Indexes")
    op.create_index("heartbeats_received", "heartbeats", ["received_at"])
    op.create_index("heartbeats_oldest", "heartbeats", ["oldest_unsynced_at"])
    op.create_index("heartbeats_behind", "heartbeats", ["refdata_behind_since"])
    op.create_index("heartbeats_rolled_back", "heartbeats", ["rolled_back"])
    op.create_index("devices_enrolled", "devices", ["enrolled_at"])
    # the console's hot queries (docs/scale.md "Indexes"): a day's entries by status, the
    # newest rejected and held entries, the unregistered persons
    op.create_index("entries_date_status", "entries", ["setl_date", "status"])
    op.create_index("entries_status_stored", "entries", ["status", "stored_at"])
    op.create_index("persons_unregistered", "persons", ["unregistered", "psn_cert"])
    op.create_table(
        "operators",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_index("devices_enrolled", table_name="devices")
    op.drop_index("persons_unregistered", table_name="persons")
    op.drop_index("entries_status_stored", table_name="entries")
    op.drop_index("entries_date_status", table_name="entries")
    op.drop_table("operators")
    op.drop_table("heartbeats")
