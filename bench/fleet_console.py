"""The console part of `bench/fleet.py` (issue 18 "Measure"): the console's pages with 10,000
terminals against the same pages with 100, p95 of the server's answer over loopback; devices and
heartbeats filled in SQL. Target ≤ 2×."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import httpx
from sqlalchemy import text

from bench.fleet import _database, _p, _serve
from bench.sync import _prepare_hub
from sync.hub.operators import add_operator
from tests.support.postgres import PostgresServer

__all__ = ["CONSOLE_PAGES", "report_console"]

CONSOLE_TARGET = 2.0


CONSOLE_PAGES = ("/console", "/console?alert=silent", "/console/days", "/console/entries")


def bench_console(
    pg: PostgresServer, root: Path, fleets: Sequence[int], rounds: int
) -> dict[int, dict[str, float]]:
    """p95 ms of each console page with each fleet size (devices and heartbeats in SQL)."""
    out: dict[int, dict[str, float]] = {}
    for size in fleets:
        hub, _ = _prepare_hub(_database(pg, f"console{size}"), [])
        add_operator(hub.engine, time.time, "bench", "bench-password-1")
        now = int(time.time())
        with hub.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO devices (dev_no, public_key, key_id, fixmedins_code, dev_name, "
                    "enrolled_at, mdtrtarea_admvs) SELECT 'C' || lpad(g::text, 6, '0'), 'k', 'k', "
                    "'P3301' || lpad((g % 500)::text, 7, '0'), 'bench', :now - 86400 * 30, "
                    "'330100' FROM generate_series(1, :n) AS g"
                ),
                {"n": size, "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO heartbeats (dev_no, received_at, sent_at, queue, parked, "
                    "chain_seq, chain_hash, refdata, app_version, oldest_unsynced_at, "
                    "platform_seq, "
                    "rolled_back) "
                    "SELECT dev_no, :now - (g % 97) * 1800, '2026-12-07 10:00:00', g % 7, 0, 0, "
                    "repeat('0', 64), :refdata, '0.1.0', CASE WHEN g % 13 = 0 THEN "
                    "'2026-12-01 10:00:00' END, 0, g % 211 = 0 FROM (SELECT dev_no, "
                    "row_number() OVER () AS g "
                    "FROM devices) AS d"
                ),
                {"now": now, "refdata": '{"policy":1}'},
            )
            conn.execute(text("ANALYZE"))
        proc, url = _serve(hub.engine.url.render_as_string(False), root / "b.toml", 1)
        try:
            with httpx.Client(base_url=url, timeout=60) as client:
                page = client.get("/console/login").text
                csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
                client.post(
                    "/console/login",
                    data={"operator": "bench", "password": "bench-password-1", "csrf": csrf},
                )
                times: dict[str, list[float]] = {p: [] for p in CONSOLE_PAGES}
                for _ in range(rounds):
                    for path in CONSOLE_PAGES:
                        t0 = time.perf_counter()
                        reply = client.get(path)
                        times[path].append(time.perf_counter() - t0)
                        assert reply.status_code == 200, (path, reply.status_code)
        finally:
            proc.terminate()
            proc.wait(60)
        hub.engine.dispose()
        out[size] = {p: _p(v, 0.95) for p, v in times.items()}
    return out


def report_console(pg: PostgresServer, root: Path, rounds: int) -> bool:
    pages = bench_console(pg, root, (100, 10_000), rounds)
    missed = False
    for path in CONSOLE_PAGES:
        few, many = pages[100][path], pages[10_000][path]
        ratio = many / few
        missed |= ratio > CONSOLE_TARGET
        verdict = "PASS" if ratio <= CONSOLE_TARGET else "MISS"
        print(
            f"console {path}: p95 {few:.1f} ms with 100 terminals, {many:.1f} ms with 10,000: "
            f"ratio {ratio:.2f}× (target ≤ {CONSOLE_TARGET}×) {verdict}",
            flush=True,
        )
    return missed
