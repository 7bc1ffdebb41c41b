"""`entries` partitioned by month on PostgreSQL, its unique keys in `entry_keys` (docs/scale.md
"Partitioning and retention").

A partitioned table's unique constraints must hold its partition key, so `txn_id` and `(dev_no,
seq)` cannot stay unique on a partitioned `entries`: they move to the narrow, unpartitioned
`entry_keys (txn_id, dev_no, seq, setl_date)`, and `entries` is keyed `(txn_id, setl_date)`.

PostgreSQL: the populated table is renamed aside, a partitioned `entries` made with a partition
`entries_yyyymm` for every month it holds and for the months around today, its rows and their
keys copied, its indexes built on the partitioned table (each partition gets its own), the old
table dropped. The hub is stopped meanwhile (a copy of every row: docs/scale.md gives the time
measured per million entries). SQLite keeps one plain table: `entry_keys` is filled from it and
the table rebuilt with the new primary key, without its `(dev_no, seq)` constraint.

Revision ID: 0009_entries_partitioned
Revises: 0008_fleet
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision = "0009_entries_partitioned"
down_revision = "0008_fleet"
branch_labels = None
depends_on = None

COLUMNS = (
    "txn_id, dev_no, seq, kind, input, input_hash, hash, status, reason, result, kept, "
    "accumulators, setl_id, settled_at, setl_date, psn_cert, orig_txn_id, reversed_by, "
    "stored_at, visit, flags"
)
# (name, columns) of the indexes of `entries` besides its primary key (sync/hub/schema.py)
INDEXES = (
    ("entries_dev_date", ["dev_no", "setl_date"]),
    ("entries_dev_status", ["dev_no", "status"]),
    ("entries_orig_txn", ["orig_txn_id"]),
    ("entries_date_status", ["setl_date", "status"]),
    ("entries_status_stored", ["status", "stored_at"]),
)
AROUND_TODAY = (-1, 3)  # partitions made for the months from last month to three ahead


def _entry_columns(*, key: bool = False, date_key: bool = False) -> list[SchemaItem]:
    return [
        sa.Column("txn_id", sa.String(96), primary_key=key, nullable=False),
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
        sa.Column("accumulators", sa.Text),
        sa.Column("setl_id", sa.String(64), nullable=False),
        sa.Column("settled_at", sa.String(19), nullable=False),
        sa.Column("setl_date", sa.String(10), primary_key=date_key, nullable=False),
        sa.Column("psn_cert", sa.String(18)),
        sa.Column("orig_txn_id", sa.String(96)),
        sa.Column("reversed_by", sa.String(96)),
        sa.Column("stored_at", sa.BigInteger, nullable=False),
        sa.Column("visit", sa.Text),
        sa.Column("flags", sa.Text),
    ]


def _month_after(month: str) -> str:
    """'2027-01' after '2026-12'."""
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + 1:04d}-01" if mon == 12 else f"{year:04d}-{mon + 1:02d}"


def _months_around(today: date) -> list[str]:
    first = today.year * 12 + today.month - 1 + AROUND_TODAY[0]
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(first, first + AROUND_TODAY[1] + 2)]


def _sqlite_entries(*, key: bool, date_key: bool, dev_seq: bool) -> sa.Table:
    """The shape SQLite's `entries` is rebuilt to (alembic's batch mode copies it over)."""
    extra: list[SchemaItem] = [sa.Index(name, *columns) for name, columns in INDEXES]
    if dev_seq:
        extra.append(sa.UniqueConstraint("dev_no", "seq", name="entries_dev_seq"))
    columns = _entry_columns(key=key, date_key=date_key)
    return sa.Table("entries", sa.MetaData(), *columns, *extra)


def upgrade() -> None:
    bind = op.get_bind()
    keys: list[SchemaItem] = [
        sa.Column("txn_id", sa.String(96), primary_key=True),
        sa.Column("dev_no", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("setl_date", sa.String(10), nullable=False),
    ]
    if bind.dialect.name == "postgresql":
        op.create_table("entry_keys", *keys)
        _upgrade_postgresql(bind)
        op.create_unique_constraint("entry_keys_dev_seq", "entry_keys", ["dev_no", "seq"])
        return
    dev_seq = sa.UniqueConstraint("dev_no", "seq", name="entry_keys_dev_seq")
    op.create_table("entry_keys", *keys, dev_seq)
    op.execute(
        "INSERT INTO entry_keys (txn_id, dev_no, seq, setl_date) "
        "SELECT txn_id, dev_no, seq, setl_date FROM entries"
    )
    new = _sqlite_entries(key=True, date_key=True, dev_seq=False)
    with op.batch_alter_table("entries", recreate="always", copy_from=new):
        pass


def _upgrade_postgresql(bind: sa.Connection) -> None:
    op.execute("ALTER TABLE entries RENAME TO entries_0008")
    op.execute("ALTER TABLE entries_0008 RENAME CONSTRAINT entries_pkey TO entries_0008_pkey")
    op.execute("ALTER TABLE entries_0008 RENAME CONSTRAINT entries_dev_seq TO entries_0008_dev_seq")
    for name, _ in INDEXES:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_0008")
    op.create_table(
        "entries", *_entry_columns(key=False), postgresql_partition_by="RANGE (setl_date)"
    )
    held = bind.exec_driver_sql(
        "SELECT DISTINCT substr(setl_date, 1, 7) FROM entries_0008"
    ).scalars()
    for month in sorted(set(held) | set(_months_around(date.today()))):
        op.execute(
            f"CREATE TABLE entries_{month[:4]}{month[5:]} PARTITION OF entries "  # digits only
            f"FOR VALUES FROM ('{month}-01') TO ('{_month_after(month)}-01')"
        )
    # the rows first and the indexes after: one sort per index rather than an insert each row
    op.execute(f"INSERT INTO entries ({COLUMNS}) SELECT {COLUMNS} FROM entries_0008")  # noqa: S608
    op.execute(
        "INSERT INTO entry_keys (txn_id, dev_no, seq, setl_date) "
        "SELECT txn_id, dev_no, seq, setl_date FROM entries_0008"
    )
    op.create_primary_key("entries_pkey", "entries", ["txn_id", "setl_date"])
    for name, columns in INDEXES:
        op.create_index(name, "entries", columns)
    op.drop_table("entries_0008")
    op.execute("ANALYZE entries")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE entries RENAME TO entries_0009")
        op.execute("ALTER TABLE entries_0009 RENAME CONSTRAINT entries_pkey TO entries_0009_pkey")
        for name, _ in INDEXES:
            op.execute(f"ALTER INDEX {name} RENAME TO {name}_0009")
        op.create_table(
            "entries",
            *_entry_columns(key=True),
            sa.UniqueConstraint("dev_no", "seq", name="entries_dev_seq"),
        )
        op.execute(
            f"INSERT INTO entries ({COLUMNS}) SELECT {COLUMNS} FROM entries_0009"  # noqa: S608
        )
        for name, columns in INDEXES:
            op.create_index(name, "entries", columns)
        op.execute("DROP TABLE entries_0009")  # and every partition with it
    else:
        old = _sqlite_entries(key=True, date_key=False, dev_seq=True)
        with op.batch_alter_table("entries", recreate="always", copy_from=old):
            pass
    op.drop_table("entry_keys")
