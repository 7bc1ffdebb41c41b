"""The platform's tables, one schema for SQLite and PostgreSQL (SQLAlchemy 2 Core).

Money is BIGINT fen; documents (envelope inputs, results, persons, reference data) are canonical
JSON text. Idempotency rests on constraints, never on check-then-insert: an entry's `txn_id` is the
primary key of `entry_keys` and `(dev_no, seq)` unique there, a message's `(dev_no, msgid)` is the
primary key of `messages`, so two hub processes receiving the same sale at the same moment store it
once. On PostgreSQL `entries` is partitioned by month of `setl_date` (sync/hub/entry_store.py),
and a partitioned table's unique keys must hold the partition key: so the keys that make a sale
unique live in the narrow, unpartitioned `entry_keys`, written in the same savepoint as the entry,
and `entries` is keyed `(txn_id, setl_date)`. `migrations/` creates these tables (Alembic); this
module is what the code reads and writes through.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "accumulators",
    "devices",
    "enrol_codes",
    "entries",
    "entry_keys",
    "heartbeats",
    "hub_meta",
    "messages",
    "metadata",
    "operators",
    "person_assignments",
    "persons",
    "refdata",
    "sign_ins",
    "trace_codes",
    "trace_conflicts",
    "trace_reports",
]

metadata = MetaData()

hub_meta = Table(
    "hub_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("dev_no", String(64), primary_key=True),
    Column("public_key", String(64), nullable=False),  # base64 raw Ed25519
    Column("key_id", String(16), nullable=False),
    Column("fixmedins_code", String(32), nullable=False),
    Column("dev_name", Text, nullable=False),
    Column("enrolled_at", BigInteger, nullable=False),
    Column("mdtrtarea_admvs", String(6)),  # its region (from its enrolment code)
    Index("devices_enrolled", "enrolled_at"),  # the console's "never sent a heartbeat"
)

# persons the publisher assigns to a device (a field team's village list): in its persons refdata
person_assignments = Table(
    "person_assignments",
    metadata,
    Column("dev_no", String(64), primary_key=True),
    Column("psn_cert", String(18), primary_key=True),
)

enrol_codes = Table(
    "enrol_codes",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("dev_no", String(64), nullable=False),
    Column("fixmedins_code", String(32), nullable=False),
    Column("fixmedins_name", Text, nullable=False),
    Column("mdtrtarea_admvs", String(6), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger),
)

messages = Table(
    "messages",
    metadata,
    Column("dev_no", String(64), primary_key=True),
    Column("msgid", String(64), primary_key=True),
    Column("infno", String(8), nullable=False),
    Column("input_hash", String(64), nullable=False),
    Column("response", Text, nullable=False),
    Column("received_at", BigInteger, nullable=False),
)

# what makes an entry unique, unpartitioned: its txn_id, its place in its device's chain, and the
# date that names its partition of `entries` (per-sale lookups start here, then read one partition)
entry_keys = Table(
    "entry_keys",
    metadata,
    Column("txn_id", String(96), primary_key=True),
    Column("dev_no", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("setl_date", String(10), nullable=False),
    UniqueConstraint("dev_no", "seq", name="entry_keys_dev_seq"),
)

entries = Table(
    "entries",
    metadata,
    Column("txn_id", String(96), primary_key=True),
    Column("dev_no", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("kind", String(8), nullable=False),  # sale | reversal
    Column("input", Text, nullable=False),  # canonical JSON of the upload's input
    Column("input_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # accepted adjusted rejected held
    Column("reason", String(32)),
    Column("result", Text),  # the platform's result when adjusted
    Column("kept", Text),  # the split the platform keeps (its setlinfo), canonical JSON
    Column("accumulators", Text),  # {"before", "after"} the platform settled a sale with
    Column("setl_id", String(64), nullable=False),
    Column("settled_at", String(19), nullable=False),
    Column("setl_date", String(10), primary_key=True),  # the partition key (PostgreSQL)
    Column("psn_cert", String(18)),
    Column("orig_txn_id", String(96)),
    Column("reversed_by", String(96)),
    Column("stored_at", BigInteger, nullable=False),
    Column("visit", Text),  # a hospital visit's fields (his-api.md "What is uploaded"), JSON
    Column("flags", Text),  # the acknowledgement's flags (trace-codes.md), canonical JSON list
    Index("entries_dev_date", "dev_no", "setl_date"),
    Index("entries_dev_status", "dev_no", "status"),
    # a settled sale looks for a reversal held for it: without this, a scan of every entry
    Index("entries_orig_txn", "orig_txn_id"),
    # the fleet console: a day's entries by status, the newest rejected and held
    Index("entries_date_status", "setl_date", "status"),
    Index("entries_status_stored", "status", "stored_at"),
    # PostgreSQL: a partition `entries_yyyymm` per month, FROM ('yyyy-mm-01') TO the next month's
    postgresql_partition_by="RANGE (setl_date)",
)

persons = Table(
    "persons",
    metadata,
    Column("psn_cert", String(18), primary_key=True),
    Column("person", Text, nullable=False),  # claim's person
    Column("unregistered", Boolean, nullable=False, default=False),
    Index("persons_unregistered", "unregistered", "psn_cert"),  # the console's list
)

accumulators = Table(
    "accumulators",
    metadata,
    Column("psn_cert", String(18), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("body", Text, nullable=False),  # claim's accumulators, canonical JSON
)

refdata = Table(
    "refdata",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("version", BigInteger, primary_key=True),
    Column("issued_at", BigInteger, nullable=False),
    Column("body", Text, nullable=False),  # canonical JSON of the whole document
    Column("sig", Text, nullable=False),  # the signed object's sig (whole document)
)

sign_ins = Table(
    "sign_ins",
    metadata,
    Column("sign_no", String(64), primary_key=True),
    Column("dev_no", String(64), nullable=False),
    Column("opter", String(64), nullable=False),
    Column("signed_in_at", BigInteger, nullable=False),
    Column("signed_out_at", BigInteger),
)

# the latest 9201 heartbeat of each device (platform-api.md "Field and fleet additions")
heartbeats = Table(
    "heartbeats",
    metadata,
    Column("dev_no", String(64), primary_key=True),
    Column("received_at", BigInteger, nullable=False),  # epoch, the platform's clock
    Column("sent_at", String(19), nullable=False),  # the envelope's inf_time
    Column("queue", Integer, nullable=False),
    Column("oldest_unsynced_at", String(19)),
    Column("parked", Integer, nullable=False),
    Column("chain_seq", BigInteger, nullable=False),
    Column("chain_hash", String(64), nullable=False),
    Column("refdata", Text, nullable=False),  # canonical JSON {kind: version}
    Column("app_version", String(32), nullable=False),
    Column("offline_since", String(19)),
    # the issued_at of the oldest version published that the device did not hold (epoch)
    Column("refdata_behind_since", BigInteger),
    # the platform's last seq of the device when the heartbeat arrived, and whether the
    # heartbeat's chain head was behind it (the device's database went back)
    Column("platform_seq", BigInteger, nullable=False),
    Column("rolled_back", Boolean, nullable=False),
    Index("heartbeats_received", "received_at"),
    Index("heartbeats_oldest", "oldest_unsynced_at"),
    Index("heartbeats_behind", "refdata_behind_since"),
    Index("heartbeats_rolled_back", "rolled_back"),
)

# the fleet console's operators: a scrypt hash of each password (sync/hub/operators.py)
operators = Table(
    "operators",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# every code sold (trace-codes.md "To the platform"): one row per code and sale, its status the
# code's in that sale (sold, opened, returned). On PostgreSQL partitioned by the month of the
# sale (`sold_month` yyyymm; a partition `trace_codes_yyyymm` is created when a month's first
# code arrives, sync/hub/trace_store.py) and indexed by code (the primary key leads with it).
trace_codes = Table(
    "trace_codes",
    metadata,
    Column("code", String(100), primary_key=True),
    Column("sold_month", Integer, primary_key=True),
    Column("txn_id", String(96), primary_key=True),
    Column("line", Integer, nullable=False),  # the sale's 1-based line
    Column("dev_no", String(64), nullable=False),
    Column("fixmedins_code", String(32), nullable=False),
    Column("format", String(8), nullable=False),  # nmpa20 | gs1 | other
    Column("gtin", String(14)),
    Column("trdn_flag", String(1), nullable=False),
    Column("status", String(8), nullable=False),  # sold | opened | returned
    Column("remaining", BigInteger),  # opened: the package's units left after this sale
    Column("sold_at", String(19), nullable=False),  # the sale's settled_at (sel_retn_time)
    Column("changed_at", BigInteger, nullable=False),  # platform epoch: trace refdata deltas
    Index("trace_codes_inst_changed", "fixmedins_code", "changed_at"),
    postgresql_partition_by="RANGE (sold_month)",
)

trace_conflicts = Table(
    "trace_conflicts",
    metadata,
    Column("code", String(100), primary_key=True),
    Column("second_txn_id", String(96), primary_key=True),
    Column("first_txn_id", String(96), nullable=False),
    Column("first_fixmedins_code", String(32), nullable=False),
    Column("first_dev_no", String(64), nullable=False),
    Column("second_fixmedins_code", String(32), nullable=False),
    Column("second_dev_no", String(64), nullable=False),
    Column("hours_between", Integer, nullable=False),
    Column("severity", String(8), nullable=False),  # high | normal
    Column("setl_date", String(10), nullable=False),  # the second sale's date
    Column("found_at", BigInteger, nullable=False),
    Index("trace_conflicts_date", "setl_date"),
)

# 3505 trace reports (self-pay sales and their refunds), idempotent by txn_id
trace_reports = Table(
    "trace_reports",
    metadata,
    Column("txn_id", String(96), primary_key=True),
    Column("dev_no", String(64), nullable=False),
    Column("sel_retn", String(8), nullable=False),  # sale | return
    Column("input_hash", String(64), nullable=False),
    Column("output", Text, nullable=False),  # canonical JSON of the output answered
    Column("stored_at", BigInteger, nullable=False),
)
