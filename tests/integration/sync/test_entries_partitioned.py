"""`entries` partitioned by month on PostgreSQL (docs/scale.md "Partitioning and retention"): a
hub process keeps storing each sale once when the same `txn_id` comes with another date, stores a
sale whose month has no partition, finds an original for its refund; migration 0009 keeps every
row of a populated 0008 database and answers the same from it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from sync.hub import statements as q
from sync.hub.console import queries as console
from sync.hub.db import MIGRATIONS, migrate, open_engine
from sync.hub.entry_store import stored_ack, stored_acks
from tests.integration.sync.conftest import FakeTerminal, Platform, hub_database, medpos

ZONE = ZoneInfo("Asia/Shanghai")


def status(answer: dict[str, Any]) -> tuple[str, str | None]:
    setlinfo = answer["output"]["setlinfo"]
    return setlinfo["status"], setlinfo.get("reason")


def execute(platform: Platform, sql: str) -> None:
    """A statement on the hub's database, committed."""
    engine = open_engine(platform.db)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def partitions(platform: Platform) -> set[str]:
    (names,) = platform.scalars(
        "SELECT string_agg(inhrelid::regclass::text, ',') FROM pg_inherits "
        "WHERE inhparent = 'entries'::regclass"
    )
    return set(names.split(","))


@pytest.mark.parametrize("platform", ["postgresql"], indirect=True)
def test_each_sale_is_stored_once_whatever_its_month_and_its_refund_finds_it(
    platform: Platform, sale_input: dict[str, Any]
) -> None:
    fake = FakeTerminal(platform, "H33010000005D0001", sale_input)
    # this month's partition gone under the running hub, which made it ahead (and noted it)
    month = datetime.now(ZONE).strftime("%Y%m")
    assert f"entries_{month}" in partitions(platform)
    execute(platform, f"DROP TABLE entries_{month}")
    first = fake.upload()
    [sold] = fake.post(fake.envelope("2102", first))
    assert status(sold)[0] in ("accepted", "adjusted")
    assert f"entries_{month}" in partitions(platform)
    # a sale dated in a month nobody made a partition for (before the device existed: bad_time)
    seq, prev = fake.seq, fake.prev
    fake.sale = {**sale_input, "settled_at": "2024-03-05 10:00:00"}
    old = fake.upload()
    [answered] = fake.post(fake.envelope("2102", old))
    assert status(answered) == ("rejected", "bad_time")
    assert "entries_202403" in partitions(platform)
    # the same txn_id again with this month's date: stored once, the first kept
    fake.seq, fake.prev, fake.sale = seq, prev, sale_input
    again = fake.upload()
    assert again["txn_id"] == old["txn_id"] and again["settled_at"] != old["settled_at"]
    [reused] = fake.post(fake.envelope("2102", again))
    assert status(reused) == ("rejected", "txn_id_reused")
    [same] = fake.post(fake.envelope("2102", old))  # the first input under a new msgid
    assert same["output"]["setlinfo"] == answered["output"]["setlinfo"]
    assert platform.scalars(
        f"SELECT COUNT(*), MIN(setl_date) FROM entries WHERE txn_id = '{old['txn_id']}'"  # noqa: S608
    ) == (1, "2024-03-05")
    assert platform.scalars(
        "SELECT COUNT(*) FROM entry_keys WHERE dev_no = 'H33010000005D0001'"
    ) == (2,)
    # the refund of the first sale finds it through its keys, in its month (chained to the
    # entry stored for the last seq: the first input)
    fake.prev = old["ledger"]["hash"]
    [refund] = fake.post(fake.envelope("2103", fake.reversal(first["txn_id"])))
    assert status(refund) == ("accepted", None)
    assert platform.scalars(
        f"SELECT reversed_by FROM entries WHERE txn_id = '{first['txn_id']}'"  # noqa: S608
    ) == (f"H33010000005D0001-{fake.seq}",)


def _upgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


COLUMNS = (
    "txn_id, dev_no, seq, kind, input, input_hash, hash, status, reason, result, kept, "
    "accumulators, setl_id, settled_at, setl_date, psn_cert, orig_txn_id, reversed_by, "
    "stored_at, visit, flags"
)


def _rows_0008() -> list[dict[str, Any]]:
    """Two devices' entries over three months, in every state a row can be in."""
    rows = []
    for dev, days in (("D1", ("2025-11-30", "2025-12-01", "2026-01-15")), ("D2", ("2025-12-31",))):
        for seq, day in enumerate(days, 1):
            rows.append(
                {
                    "txn_id": f"{dev}-{seq}",
                    "dev_no": dev,
                    "seq": seq,
                    "kind": "sale",
                    "input": json.dumps({"n": seq}),
                    "input_hash": f"{dev}{seq}".ljust(64, "0"),
                    "hash": f"{seq}".ljust(64, "1"),
                    "status": ("accepted", "adjusted", "held")[seq - 1],
                    "reason": None,
                    "result": '{"r":1}' if seq == 2 else None,
                    "kept": '{"fund_pay_sumamt":"1.00"}',
                    "accumulators": None,
                    "setl_id": f"S{dev}{seq}",
                    "settled_at": f"{day} 10:00:00",
                    "setl_date": day,
                    "psn_cert": None,
                    "orig_txn_id": None,
                    "reversed_by": "D1-9" if (dev, seq) == ("D1", 1) else None,
                    "stored_at": 1_700_000_000 + seq,
                    "visit": None,
                    "flags": '["trace_conflict"]' if seq == 2 else None,
                }
            )
    return rows


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0009_keeps_every_row_and_answers_the_same(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    engine = open_engine(hub_database(backend, request, tmp_path))
    try:
        _upgrade(engine, "0008_fleet")
        rows = _rows_0008()
        names = ", ".join(f":{c.strip()}" for c in COLUMNS.split(","))
        with engine.begin() as conn:
            conn.execute(text(f"INSERT INTO entries ({COLUMNS}) VALUES ({names})"), rows)  # noqa: S608
        every = f"SELECT {COLUMNS} FROM entries ORDER BY txn_id"  # noqa: S608

        def answers() -> tuple[Any, ...]:
            with engine.connect() as conn:
                return (
                    conn.execute(text(every)).all(),
                    console.daily_counts(conn, "2025-11-01"),
                    console.held_and_rejected(conn, "held"),
                )

        before = answers()
        migrate(engine)
        assert answers() == before
        with engine.begin() as conn:
            batch = stored_acks(conn, [r["txn_id"] for r in rows] + ["D1-404"])
            assert batch.pop("D1-404") is None
            for row in rows:  # each by its keys, as the upload path reads it
                ack = stored_ack(conn, row["txn_id"])
                assert ack == batch[row["txn_id"]]
                assert (ack.setl_id, ack.status, ack.input_hash, ack.setl_date) == (
                    row["setl_id"],
                    row["status"],
                    row["input_hash"],
                    row["setl_date"],
                )
            assert q.CHAIN_HEAD.first(conn, {"dev_no": "D1"}) == (3, rows[2]["hash"])
            link = q.LINK_AT.first(conn, {"dev_no": "D1", "seq": 2})
            assert (link.hash, link.status) == (rows[1]["hash"], "adjusted")
            with pytest.raises(IntegrityError):  # (dev_no, seq) stays unique
                conn.execute(
                    text(
                        "INSERT INTO entry_keys (txn_id, dev_no, seq, setl_date) "
                        "VALUES ('D1-x', 'D1', 2, '2026-01-01')"
                    )
                )
        if backend == "postgresql":
            with engine.connect() as conn:
                held = conn.execute(
                    text(
                        "SELECT inhrelid::regclass::text FROM pg_inherits "
                        "WHERE inhparent = 'entries'::regclass"
                    )
                ).scalars()
                assert {"entries_202511", "entries_202512", "entries_202601"} <= set(held)
    finally:
        engine.dispose()


def test_partitions_ahead_are_made_by_the_command_and_again_changes_nothing(
    request: pytest.FixtureRequest, tmp_path: Path, make_config: Callable[..., Path]
) -> None:
    db = hub_database("postgresql", request, tmp_path)
    config = make_config("hub.toml")
    done = medpos(config, "hub", "partitions", "--ahead", "14", "--db", db)
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    again = medpos(config, "hub", "partitions", "--ahead", "14", "--db", db)
    assert json.loads(again.stdout) == made and len(made["entries"]) == 15
    last = made["entries"][-1].removeprefix("entries_")
    assert made["trace_codes"][-1] == f"trace_codes_{last}"
    engine = open_engine(db)
    try:
        with engine.connect() as conn:
            bounds = conn.execute(
                text(
                    "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c "
                    "JOIN pg_inherits i ON i.inhrelid = c.oid "
                    "WHERE i.inhparent = 'entries'::regclass AND c.relname = :name"
                ),
                {"name": made["entries"][-1]},
            ).scalar()
    finally:
        engine.dispose()
    upper = date(int(last[:4]), int(last[4:]), 28) + timedelta(days=4)
    assert bounds == f"FOR VALUES FROM ('{last[:4]}-{last[4:]}-01') TO ('{upper:%Y-%m}-01')"
