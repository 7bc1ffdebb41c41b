"""The console's reads on a real hub database (migrated): the alerts each terminal
raises, keyset pages, the per-day counts with the fund money adjustments moved, unregistered
persons, and the preview of a publication."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from sync.hub import months
from sync.hub import schema as t
from sync.hub.console import queries as q
from sync.hub.console.chart import day_bars
from sync.hub.console.preview import preview
from sync.hub.db import migrate, open_engine
from tests.integration.sync.conftest import hub_database

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=TZ).timestamp()
DAY = 86400


def _entry(
    dev: str, seq: int, status: str, *, terminal: str, platform: str, at: int
) -> dict[str, Any]:
    return {
        "txn_id": f"{dev}-{seq}",
        "dev_no": dev,
        "seq": seq,
        "kind": "sale",
        "input": json.dumps({"result": {"setlinfo": {"fund_pay_sumamt": terminal}}}),
        "input_hash": "0" * 64,
        "hash": "1" * 64,
        "status": status,
        "reason": "hotlisted" if status == "rejected" else None,
        "kept": json.dumps({"fund_pay_sumamt": platform}),
        "setl_id": f"S{dev}{seq}",
        "settled_at": "2026-12-07 09:00:00",
        "setl_date": "2026-12-07",
        "stored_at": at,
    }


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_alerts_pages_and_day_counts_come_from_the_database(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    engine = open_engine(hub_database(backend, request, tmp_path))
    migrate(engine)
    # PostgreSQL: the entries' month, whenever run
    months.create_ahead(engine, (months.ENTRIES,), date(2026, 12, 1), 1)
    hb: dict[str, Any] = {
        "sent_at": "2026-12-07 11:00:00",
        "queue": 0,
        "parked": 0,
        "chain_hash": "1" * 64,
        "refdata": '{"policy":1}',
        "app_version": "0.1.0",
        "oldest_unsynced_at": None,
        "refdata_behind_since": None,
        "platform_seq": 2,
        "rolled_back": False,
    }
    devices = [f"D{n:03d}" for n in range(60)]
    with engine.begin() as conn:
        conn.execute(
            insert(t.devices),
            [
                {
                    "dev_no": d,
                    "public_key": "k",
                    "key_id": "k",
                    "fixmedins_code": "P1" if n % 2 else "P2",
                    "dev_name": d,
                    "enrolled_at": int(NOW) - 10 * DAY,
                }
                for n, d in enumerate(devices)
            ],
        )
        beats: dict[str, dict[str, Any]] = {
            "D000": {"received_at": int(NOW) - 60, "chain_seq": 2},  # fine
            # a sale waiting four days: over the 72 h deadline
            "D001": {
                "received_at": int(NOW) - 60,
                "chain_seq": 2,
                "oldest_unsynced_at": "2026-12-03 11:00:00",
            },
            "D002": {"received_at": int(NOW) - 2 * DAY, "chain_seq": 2},  # silent
            # its heartbeat said seq 1, but seq 2 was stored before the heartbeat came
            "D003": {"received_at": int(NOW) - 60, "chain_seq": 1, "rolled_back": True},
            # a version it lacks was published nine days ago
            "D004": {
                "received_at": int(NOW) - 60,
                "chain_seq": 2,
                "refdata_behind_since": int(NOW) - 9 * DAY,
            },
        }
        conn.execute(insert(t.heartbeats), [{"dev_no": d, **hb, **b} for d, b in beats.items()])
        conn.execute(
            insert(t.entries),
            [
                _entry(
                    "D003", 1, "accepted", terminal="10.00", platform="10.00", at=int(NOW) - 900
                ),
                _entry("D003", 2, "adjusted", terminal="10.00", platform="7.50", at=int(NOW) - 800),
                _entry("D001", 1, "adjusted", terminal="1.00", platform="1.25", at=int(NOW) - 700),
                _entry("D000", 1, "rejected", terminal="5.00", platform="5.00", at=int(NOW) - 600),
            ],
        )
        conn.execute(
            insert(t.persons),
            [
                {
                    "psn_cert": "330100199001010011",
                    "person": '{"psn_name":"张三"}',
                    "unregistered": True,
                },
                {"psn_cert": "330100199001010022", "person": "{}", "unregistered": False},
            ],
        )
    limits = q.Limits(now=NOW, tz=TZ)
    with engine.connect() as conn:
        counts = q.alert_counts(conn, limits)
        first = q.terminals(conn, limits)
        second = q.terminals(conn, limits, after=first[-1]["dev_no"])
        silent = q.terminals(conn, limits, alert="silent")
        days = q.daily_counts(conn, "2026-12-01")
        totals = q.daily_totals(conn, "2026-12-01")
        rejected = q.held_and_rejected(conn, "rejected")
        persons = q.unregistered_persons(conn)
    engine.dispose()
    # D002 silent by its heartbeat, D005…D059 enrolled ten days ago and never one
    assert counts == {"devices": 60, "deadline": 1, "silent": 56, "rolled_back": 1, "refdata": 1}
    assert len(first) == q.PAGE and [r["dev_no"] for r in second] == devices[q.PAGE :]
    alerts = {r["dev_no"]: r["alerts"] for r in first[:5]}
    assert alerts == {
        "D000": [],
        "D001": ["deadline"],
        "D002": ["silent"],
        "D003": ["rolled_back"],
        "D004": ["refdata"],
    }
    assert first[0]["refdata"] == {"policy": 1} and len(silent) == q.PAGE
    by_institution = {r["fixmedins_code"]: r for r in days}
    # P2: D000 rejected; P1: D001 adjusted (+0.25), D003 accepted and adjusted (-2.50)
    assert by_institution["P1"]["accepted"] == 1 and by_institution["P1"]["adjusted"] == 2
    assert by_institution["P1"]["moved_fen"] == 25 - 250
    assert by_institution["P2"]["rejected"] == 1 and by_institution["P2"]["moved_fen"] == 0
    assert totals == [{"day": "2026-12-07", "accepted": 1, "adjusted": 2, "rejected": 1}]
    bars = day_bars(totals)
    assert bars["top"] == 4 and [p["n"] for p in bars["bars"][0]["parts"]] == [1, 2, 1]
    assert [(r["txn_id"], r["reason"]) for r in rejected] == [("D000-1", "hotlisted")]
    assert persons == [{"psn_cert": "330100199001010011", "name": "张三", "insuplc_admdvs": ""}]


def test_a_preview_counts_what_a_publication_adds_removes_and_changes() -> None:
    old = [{"code": "A", "price": "1.00"}, {"code": "B", "price": "2.00"}]
    new = [{"code": "A", "price": "1.50"}, {"code": "C", "price": "3.00"}]
    change = preview("catalogue", old, new)
    assert (change.added, change.removed, change.changed) == (1, 1, 1)
    assert change.examples == {"added": ["C"], "removed": ["B"], "changed": ["A"]}
    policy = preview("policy", "a = 1\nb = 2\n", "a = 1\nb = 3\n")
    assert (policy.added, policy.removed) == (1, 1) and "+b = 3" in policy.diff
    assert preview("catalogue", None, new).added == 2
