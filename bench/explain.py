"""`python -m bench.explain`: the PostgreSQL plans of the platform's hot queries (docs/scale.md
"Indexes", "Plans"), on a database with 10,000 terminals and their heartbeats and 1,000,000
entries (`--entries N`) in eleven monthly partitions, filled in SQL as bench/fleet.py fills them.

The statements are the code's own: a batch of uploads goes through `Hub.batch`, every console
query through `sync.hub.console.queries` and a 3201 reconciliation through its handler, each
statement captured as SQLAlchemy sends it; the per-message statements (`sync.hub.statements`,
sent on the DBAPI cursor, which the capture does not see) with the arguments of an entry of
the batch and of an entry of an older month. Each runs again under `EXPLAIN (ANALYZE, BUFFERS)`
(the writes too, in a transaction rolled back). Printed: each distinct statement's plan, once:
on `entries` the partitions it reads show (`entries_yyyymm`); those pruned do not, or show as
`(never executed)` when pruned as the join ran.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, text

from bench.fleet import _database, _devices, _fill_entries
from bench.fleet_load import _bodies
from bench.sync import _prepare_hub, _template
from sync.hub import reconciliation
from sync.hub import statements as m
from sync.hub.console import queries as q
from tests.support.postgres import start_postgres

FLEET_SQL = (
    "INSERT INTO devices (dev_no, public_key, key_id, fixmedins_code, dev_name, enrolled_at, "
    "mdtrtarea_admvs) SELECT 'C' || lpad(g::text, 6, '0'), 'k', 'k', "
    "'P3301' || lpad((g % 500)::text, 7, '0'), 'bench', :now - 86400 * 30, '330100' "
    "FROM generate_series(1, :n) AS g",
    "INSERT INTO heartbeats (dev_no, received_at, sent_at, queue, parked, chain_seq, chain_hash, "
    "refdata, app_version, platform_seq, rolled_back) SELECT dev_no, :now - 60, "
    "'2026-12-07 10:00:00', 0, 0, 0, repeat('0', 64), '{}', '0.1.0', 0, false FROM devices",
)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.explain")
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="medpos-bench-explain-") as tmp:
        root = Path(tmp)
        pg = start_postgres(root / "pg")
        try:
            template = _template(root)
            hub, _ = _prepare_hub(_database(pg, "explain"), [])
            _fill_entries(hub, args.entries, 0, json.dumps(template, sort_keys=True))
            now = int(time.time())
            with hub.engine.begin() as conn:
                for sql in FLEET_SQL:
                    conn.execute(text(sql), {"now": now, "n": 10_000})
                conn.execute(text("ANALYZE"))
            captured: dict[str, Any] = {}

            @event.listens_for(hub.engine, "before_cursor_execute")
            def _keep(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
                if statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE")):
                    captured.setdefault(statement, params)

            [device] = _devices(hub, 1, template, "X")
            for body in _bodies(device, 1, 200):
                hub.batch(json.loads(body))
            with hub.engine.begin() as conn:  # this month's rows counted, as autovacuum would
                conn.execute(text("ANALYZE entries, entry_keys"))
            limits = q.Limits(now=now, tz=ZoneInfo("Asia/Shanghai"))
            today = datetime.fromtimestamp(now, ZoneInfo("Asia/Shanghai")).date().isoformat()
            with hub.engine.connect() as conn:
                reconciliation.totals(conn, device.dev_no, {"setl_date": today})
                q.conflict_days(conn)
                q.conflicts(conn, today)
                q.alert_counts(conn, limits)
                q.terminals(conn, limits, after="C005000")
                q.terminals(conn, limits, alert="silent")
                q.daily_counts(conn, "2026-11-24")
                q.daily_totals(conn, "2026-11-24")
                q.held_and_rejected(conn, "rejected")
                q.unregistered_persons(conn)
            event.remove(hub.engine, "before_cursor_execute", _keep)
            with hub.engine.connect() as conn:
                captured.update(_per_message(conn, device.dev_no, today, args.entries))
            raw = hub.engine.raw_connection()
            try:
                cur = raw.cursor()
                for statement, params in captured.items():
                    if statement.lstrip().upper().startswith("INSERT"):
                        continue  # an insert's plan is a Result node: its cost is the indexes
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, params)
                    plan = "\n".join(row[0] for row in cur.fetchall())
                    print("--", " ".join(statement.split())[:300])
                    print(plan, "\n", flush=True)
                raw.rollback()
            finally:
                raw.close()
            hub.engine.dispose()
        finally:
            pg.stop()
    return 0


def _per_message(conn: Any, dev_no: str, today: str, filled: int) -> dict[str, Any]:
    """SQL → arguments of the per-message statements: an entry of the batch just stored, and
    one of an older month (a filler device's, as bench/fleet.py `FILL_SQL` made it)."""
    mid, g = f"{dev_no}-100", filled // 2
    old, old_date = f"F{g // 1000}-{g % 1000 + 1}", date(2026, 1, 1) + timedelta(days=g % 330)
    done = {"status": "accepted", "reason": None, "result": None, "kept": None}
    calls: list[tuple[Any, dict[str, Any]]] = [
        (m.ENTRY_KEY, {"txn_id": mid}),
        (m.ENTRY_ACK, {"txn_id": mid, "setl_date": today}),
        (m.ENTRY_ACK, {"txn_id": old, "setl_date": old_date.isoformat()}),
        (m.ENTRY_BY_TXN, {"txn_id": old}),
        (m.LINK_AT, {"dev_no": dev_no, "seq": 99}),
        (m.ENTRY_AT, {"dev_no": dev_no, "seq": 100}),
        (m.CHAIN_HEAD, {"dev_no": dev_no}),
        (m.HELD_FOR_GAP, {"dev_no": dev_no}),
        (m.WAITING_REVERSAL, {"txn_id": mid}),
        (m.FINISH_ENTRY, {"key": mid, "key_date": today, **done, "accumulators": None}),
        (m.MARK_REVERSED, {"key": old, "key_date": old_date.isoformat(), "reversed_by": "x"}),
    ]
    out: dict[str, Any] = {}
    for statement, params in calls:
        sql, args = statement.bound(conn, params)
        out.setdefault(sql + " -- " + json.dumps(params, default=str)[:80], args)
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
