"""Traceability codes at the platform (trace-codes.md "To the platform"): every code sold with
its sale, the conflicts found, the 3505 trace reports, and the flags of an acknowledgement.
On PostgreSQL `trace_codes` is partitioned by month (`sold_month`, range); its partitions are
created as codes of a month arrive (sync/hub/trace_store.py `ensure_partition`).

Revision ID: 0005_trace_codes
Revises: 0004 (0004_refdata_access.py)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_trace_codes"
# the brief named "0004_refdata_access"; the revision id in 0004_refdata_access.py is "0004"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("flags", sa.Text))
    op.create_table(
        "trace_codes",
        sa.Column("code", sa.String(100), primary_key=True),
        sa.Column("sold_month", sa.Integer, primary_key=True),
        sa.Column("txn_id", sa.String(96), primary_key=True),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("dev_no", sa.String(64), nullable=False),
        sa.Column("fixmedins_code", sa.String(32), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("gtin", sa.String(14)),
        sa.Column("trdn_flag", sa.String(1), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("remaining", sa.BigInteger),
        sa.Column("sold_at", sa.String(19), nullable=False),
        sa.Column("changed_at", sa.BigInteger, nullable=False),
        postgresql_partition_by="RANGE (sold_month)",
    )
    op.create_index("trace_codes_inst_changed", "trace_codes", ["fixmedins_code", "changed_at"])
    op.create_table(
        "trace_conflicts",
        sa.Column("code", sa.String(100), primary_key=True),
        sa.Column("second_txn_id", sa.String(96), primary_key=True),
        sa.Column("first_txn_id", sa.String(96), nullable=False),
        sa.Column("first_fixmedins_code", sa.String(32), nullable=False),
        sa.Column("first_dev_no", sa.String(64), nullable=False),
        sa.Column("second_fixmedins_code", sa.String(32), nullable=False),
        sa.Column("second_dev_no", sa.String(64), nullable=False),
        sa.Column("hours_between", sa.Integer, nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("setl_date", sa.String(10), nullable=False),
        sa.Column("found_at", sa.BigInteger, nullable=False),
    )
    op.create_index("trace_conflicts_date", "trace_conflicts", ["setl_date"])
    op.create_table(
        "trace_reports",
        sa.Column("txn_id", sa.String(96), primary_key=True),
        sa.Column("dev_no", sa.String(64), nullable=False),
        sa.Column("sel_retn", sa.String(8), nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("stored_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("trace_reports")
    op.drop_index("trace_conflicts_date", "trace_conflicts")
    op.drop_table("trace_conflicts")
    op.drop_index("trace_codes_inst_changed", "trace_codes")
    op.drop_table("trace_codes")
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("flags")
