"""The platform's first schema: devices, enrolment codes, messages, entries, persons,
accumulators, reference data, operator sign-ins.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "devices",
        sa.Column("dev_no", sa.String(64), primary_key=True),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("fixmedins_code", sa.String(32), nullable=False),
        sa.Column("dev_name", sa.Text, nullable=False),
        sa.Column("enrolled_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "enrol_codes",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("dev_no", sa.String(64), nullable=False),
        sa.Column("fixmedins_code", sa.String(32), nullable=False),
        sa.Column("fixmedins_name", sa.Text, nullable=False),
        sa.Column("mdtrtarea_admvs", sa.String(6), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("used_at", sa.BigInteger),
    )
    op.create_table(
        "messages",
        sa.Column("dev_no", sa.String(64), primary_key=True),
        sa.Column("msgid", sa.String(64), primary_key=True),
        sa.Column("infno", sa.String(8), nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "entries",
        sa.Column("txn_id", sa.String(96), primary_key=True),
        sa.Column("dev_no", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("input", sa.Text, nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32)),
        sa.Column("result", sa.Text),
        sa.Column("kept", sa.Text),
        sa.Column("setl_id", sa.String(64), nullable=False),
        sa.Column("settled_at", sa.String(19), nullable=False),
        sa.Column("setl_date", sa.String(10), nullable=False),
        sa.Column("psn_cert", sa.String(18)),
        sa.Column("orig_txn_id", sa.String(96)),
        sa.Column("reversed_by", sa.String(96)),
        sa.Column("stored_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("dev_no", "seq", name="entries_dev_seq"),
    )
    op.create_index("entries_dev_date", "entries", ["dev_no", "setl_date"])
    op.create_index("entries_dev_status", "entries", ["dev_no", "status"])
    op.create_table(
        "persons",
        sa.Column("psn_cert", sa.String(18), primary_key=True),
        sa.Column("person", sa.Text, nullable=False),
        sa.Column("unregistered", sa.Boolean, nullable=False),
    )
    op.create_table(
        "accumulators",
        sa.Column("psn_cert", sa.String(18), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "refdata",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("version", sa.BigInteger, primary_key=True),
        sa.Column("issued_at", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("sig", sa.Text, nullable=False),
    )
    op.create_table(
        "sign_ins",
        sa.Column("sign_no", sa.String(64), primary_key=True),
        sa.Column("dev_no", sa.String(64), nullable=False),
        sa.Column("opter", sa.String(64), nullable=False),
        sa.Column("signed_in_at", sa.BigInteger, nullable=False),
        sa.Column("signed_out_at", sa.BigInteger),
    )


def downgrade() -> None:
    for table in (
        "sign_ins",
        "refdata",
        "accumulators",
        "persons",
        "entries",
        "messages",
        "enrol_codes",
        "devices",
        "hub_meta",
    ):
        op.drop_table(table)
