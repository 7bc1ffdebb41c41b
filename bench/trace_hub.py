"""The platform's code ingest on PostgreSQL (issue 15 "Measure"; trace-codes.md "To the
platform").

1. Codes per second stored with the duplicate check (what the hub does for each sale that
   carries codes: who holds its codes, the plan, the rows and conflicts written), against raw
   `INSERT … ON CONFLICT DO NOTHING` of the same rows (one statement per sale, as the hub writes
   a sale's rows) and against `COPY` of them (one per batch), each committing once per batch of
   100 sales as the hub does. Target ≥ 0.5× of the INSERT baseline; the COPY ratio is printed.
2. The per-code cost of that ingest with 10,000 codes stored against with many stored
   (default 1,000,000; `--full`: 10,000,000, filled with `generate_series` over three monthly
   partitions). Target ≤ 1.3×.

A sale is 10 codes of one item (the issue's coded sale); codes are random 20-digit codes as a
province's issuers spread them. The baselines insert rows of the same shape with codes of their
own (the same codes again would only meet the ingest's rows), in the same table. PostgreSQL is
started by tests/support/postgres.py (initdb + pg_ctl in a temporary directory).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from sync.hub.db import migrate, open_engine
from sync.hub.trace_rules import TraceLine, plan_sale
from sync.hub.trace_store import ensure_partition, holders, store_plan
from tests.support.postgres import start_postgres

INGEST_TARGET = 0.5
SCALE_TARGET = 1.3
CODES_PER_SALE = 10
BATCH = 100  # sales per transaction (a terminal's batch)
ROUNDS = 3
INST, DEV = "P33010000001", "H33010000001D0001"
COLUMNS = (
    "code, sold_month, txn_id, line, dev_no, fixmedins_code, format, gtin, trdn_flag, status, "
    "remaining, sold_at, changed_at"
)


def _now() -> datetime:
    return datetime.now(ZoneInfo("Asia/Shanghai"))


def _months(now: datetime) -> list[int]:
    """This month and the two before it (yyyymm)."""
    months, year, mon = [], now.year, now.month
    for _ in range(3):
        months.append(year * 100 + mon)
        year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
    return months


def _fill(engine: Engine, upto: int, stored: int, months: list[int]) -> None:
    """Store codes `stored`..`upto` (generate_series), spread over `months`."""
    if upto <= stored:
        return
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO trace_codes ({COLUMNS}) "  # noqa: S608 (constants)
                "SELECT '8' || lpad(abs(hashtextextended(i::text, 15))::text, 19, '0'), "
                "(ARRAY[:m0, :m1, :m2]::integer[])[1 + i % 3], 'FILL-' || (i / 10), 1, "
                ":dev, :inst, "
                "'nmpa20', NULL, '0', 'sold', NULL, '2026-01-01 00:00:00', 0 "
                "FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS i"
            ),
            {
                "m0": months[0],
                "m1": months[1],
                "m2": months[2],
                "dev": DEV,
                "inst": INST,
                "lo": stored,
                "hi": upto - 1,
            },
        )
    with engine.connect() as conn:
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        # the fill's background work (vacuum, the checkpoint of its WAL) done before measuring
        auto.execute(text("VACUUM ANALYZE trace_codes"))
        auto.execute(text("CHECKPOINT"))


def _sales(rng: random.Random, count: int, tag: str) -> list[list[str]]:
    """`count` sales of fresh random codes (9-prefixed: never among the filled 8-prefixed)."""
    return [[f"9{rng.randrange(10**19):019d}" for _ in range(CODES_PER_SALE)] for _ in range(count)]


def _ingest(engine: Engine, sales: list[list[str]], month: int, tag: str) -> float:
    """Seconds to store `sales` through the platform's path (check, plan, store)."""
    sold_at = _now().strftime("%Y-%m-%d %H:%M:%S")
    started = time.perf_counter()
    for start in range(0, len(sales), BATCH):
        with engine.begin() as conn:
            for i, codes in enumerate(sales[start : start + BATCH], start=start):
                lines = [TraceLine("XC10AA0055", str(len(codes)), "0", tuple(codes))]
                plan = plan_sale(
                    lines, {}, holders(conn, codes), fixmedins_code=INST, sold_at=sold_at
                )
                assert not plan.conflicts
                store_plan(
                    conn,
                    plan,
                    txn_id=f"{tag}-{i}",
                    dev_no=DEV,
                    fixmedins_code=INST,
                    sold_at=sold_at,
                    setl_date=sold_at[:10],
                    now=int(time.time()),
                )
    return time.perf_counter() - started


def _rows(codes: list[str], month: int, txn_id: str, sold_at: str) -> list[tuple[Any, ...]]:
    now = int(time.time())
    return [
        (c, month, txn_id, 1, DEV, INST, "nmpa20", None, "0", "sold", None, sold_at, now)
        for c in codes
    ]


def _insert_baseline(engine: Engine, sales: list[list[str]], month: int, tag: str) -> float:
    """Seconds to store the same shape of rows with raw INSERT … ON CONFLICT DO NOTHING."""
    sold_at = _now().strftime("%Y-%m-%d %H:%M:%S")
    sql = (
        f"INSERT INTO trace_codes ({COLUMNS}) VALUES "  # noqa: S608 (constants)
        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
    )
    raw = engine.raw_connection()
    try:
        started = time.perf_counter()
        for start in range(0, len(sales), BATCH):
            cur = raw.cursor()
            for i, codes in enumerate(sales[start : start + BATCH], start=start):
                cur.executemany(sql, _rows(codes, month, f"{tag}-{i}", sold_at))
            cur.close()
            raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def _copy_baseline(engine: Engine, sales: list[list[str]], month: int, tag: str) -> float:
    """Seconds to store the same shape of rows with COPY, one per batch."""
    sold_at = _now().strftime("%Y-%m-%d %H:%M:%S")
    raw = engine.raw_connection()
    try:
        started = time.perf_counter()
        for start in range(0, len(sales), BATCH):
            cur: Any = raw.cursor()
            with cur.copy(f"COPY trace_codes ({COLUMNS}) FROM STDIN") as copy:
                for i, codes in enumerate(sales[start : start + BATCH], start=start):
                    for row in _rows(codes, month, f"{tag}-{i}", sold_at):
                        copy.write_row(row)
            cur.close()
            raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def _server_memory(pg: Any) -> None:
    """A platform's server keeps its hot indexes in shared buffers: 2 GB, not the 128 MB a
    fresh cluster starts with (the fill at --full is about 2.5 GB)."""
    engine = open_engine(pg.url)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("ALTER SYSTEM SET shared_buffers = '2GB'")
        )
    engine.dispose()
    pg.run("pg_ctl", "-D", str(pg.datadir), "-l", str(pg.logfile), "-m", "fast", "-w", "restart")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench trace_hub", description=__doc__)
    parser.add_argument("--full", action="store_true", help="10,000,000 codes stored")
    parser.add_argument("--large", type=int, help="codes stored for the second figure")
    parser.add_argument("--sales", type=int, default=500, help="sales measured per round")
    args = parser.parse_args(argv)
    large = args.large or (10_000_000 if args.full else 1_000_000)
    rng = random.Random(15)
    month = int(_now().strftime("%Y%m"))
    months = _months(_now())
    with tempfile.TemporaryDirectory(prefix="medpos-bench-trace-") as tmp:
        pg = start_postgres(Path(tmp) / "pg")
        try:
            _server_memory(pg)
            engine = open_engine(pg.url)
            migrate(engine)
            with engine.begin() as conn:
                for m in months:
                    ensure_partition(conn, m)
            _fill(engine, 10_000, 0, months)
            codes = args.sales * CODES_PER_SALE

            def measure(size: str) -> tuple[float, float, float]:
                """codes/s of the ingest, INSERT and COPY: the best of 3 interleaved rounds."""
                best = [0.0, 0.0, 0.0]
                for r in range(ROUNDS):
                    for k, run in enumerate((_ingest, _insert_baseline, _copy_baseline)):
                        tag = f"{size}{k}-{r}"
                        seconds = run(engine, _sales(rng, args.sales, tag), month, tag)
                        best[k] = max(best[k], codes / seconds)
                return best[0], best[1], best[2]

            small = measure("s")
            stored = 10_000 + 3 * ROUNDS * codes
            print(
                f"10,000 codes stored: ingest {small[0]:,.0f} codes/s; raw INSERT ON CONFLICT "
                f"{small[1]:,.0f}/s; COPY {small[2]:,.0f}/s",
                flush=True,
            )
            started = time.perf_counter()
            _fill(engine, large, stored, months)
            print(f"filled to {large:,} codes in {time.perf_counter() - started:.1f} s", flush=True)
            big = measure("l")
            print(
                f"{large:,} codes stored: ingest {big[0]:,.0f} codes/s; raw INSERT ON CONFLICT "
                f"{big[1]:,.0f}/s; COPY {big[2]:,.0f}/s"
            )
            engine.dispose()
        finally:
            pg.stop()
    ratio_insert = small[0] / small[1]
    ratio_copy = small[0] / small[2]
    scale = small[0] / big[0]  # per-code cost at `large` against at 10,000
    print(
        f"(the same for raw INSERT ON CONFLICT: {small[1] / big[1]:.2f}x, COPY: "
        f"{small[2] / big[2]:.2f}x)"
    )
    print(
        f"ingest / raw INSERT ON CONFLICT: {ratio_insert:.2f}x (target >= {INGEST_TARGET}x); "
        f"ingest / COPY: {ratio_copy:.2f}x"
    )
    print(f"per-code cost at {large:,} against at 10,000: {scale:.2f}x (target <= {SCALE_TARGET}x)")
    ok = ratio_insert >= INGEST_TARGET and scale <= SCALE_TARGET
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
