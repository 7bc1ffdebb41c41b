"""`python -m bench.explain`: the PostgreSQL plans of the platform's hot queries (docs/scale.md
"Indexes"), on a database with 10,000 terminals and their heartbeats and 1,000,000 entries
(`--entries N`), filled in SQL as bench/fleet.py fills them.

The statements are the code's own: a batch of uploads goes through `Hub.batch` and every console
query through `sync.hub.console.queries`, each statement captured as SQLAlchemy sends it and then
run again under `EXPLAIN (ANALYZE, BUFFERS)`. Printed: each distinct statement's plan, once.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, text

from bench.fleet import _database, _devices, _fill_entries
from bench.fleet_load import _bodies
from bench.sync import _prepare_hub, _template
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
            limits = q.Limits(now=now, tz=ZoneInfo("Asia/Shanghai"))
            with hub.engine.connect() as conn:
                q.alert_counts(conn, limits)
                q.terminals(conn, limits, after="C005000")
                q.terminals(conn, limits, alert="silent")
                q.daily_counts(conn, "2026-11-24")
                q.daily_totals(conn, "2026-11-24")
                q.held_and_rejected(conn, "rejected")
                q.unregistered_persons(conn)
            event.remove(hub.engine, "before_cursor_execute", _keep)
            raw = hub.engine.raw_connection()
            try:
                cur = raw.cursor()
                for statement, params in captured.items():
                    if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
                        continue  # the writes' plans are the index lookups of the reads
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
