"""Terminal core benchmarks (issue "Terminal core", section Measure).

1. Commit path (settle + ledger entry + signature + outbox + accumulators, one transaction) per
   sale, against raw sqlite3 writing the same rows in one transaction with the same pragmas on the
   same disk. Target ≤ 2×. The claim is validated once beforehand (`prepare_claim`): reading
   a claim's JSON is not part of the commit path. The whole headless sale, which validates the
   claim every time as `medpos checkout` does, is printed beside it, and so is where the Python
   work of a sale goes (each part timed warm, alone: `bench_parts`).
2. Growth: per-sale commit time with 1,000,000 entries in the ledger against 1,000. Target ≤ 1.2×.
3. `ledger verify` over 1,000,000 entries against raw SHA-256 + Ed25519 verification of the
   same bytes. Target ≤ 1.5×.
4. Memory: RSS growth of `medpos checkout --repeat 20000` after the first 1,000 sales.
   Target < 5 MB.

`--entries N` (or MEDPOS_BENCH_ENTRIES) scales 2 and 3 down for a quick look.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bench.core_parts import bench_parts
from sync.protocol.canonical import canonical_json
from terminal.bootstrap import open_terminal
from terminal.checkout.service import CheckoutService
from terminal.config import load_config
from terminal.demo import demo_claim
from terminal.ledger import SqliteLedger, verify_ledger
from terminal.ledger.records import (
    LINE_COLUMNS,
    TXN_COLUMNS,
    entry_hash,
    sale_input,
)
from terminal.ledger.schema_next import migrate
from tests.conftest import HIGH_LIMITS, MEDPOS, medpos_env, write_config

BLOCKS = 5
COMMIT_TARGET = 2.0  # the commit path against raw sqlite3 writing the same rows


def _service(root: Path, name: str) -> CheckoutService:
    cfg = write_config(root / f"{name}.toml", {"risk": HIGH_LIMITS})
    config = load_config(cfg, env={})
    return open_terminal(config, db_path=root / name / "medpos.db")


def _claim(service: CheckoutService) -> dict[str, Any]:
    return demo_claim("pharmacy", service.local_now().date())


def _template_rows(ledger: SqliteLedger, seq: int) -> dict[str, Any]:
    conn = ledger.conn
    (txn_id,) = conn.execute("SELECT txn_id FROM txns WHERE seq = ?", (seq,)).fetchone()
    return {
        "txn": dict(
            zip(
                TXN_COLUMNS,
                conn.execute(
                    f"SELECT {', '.join(TXN_COLUMNS)} FROM txns WHERE seq = ?", (seq,)
                ).fetchone(),
                strict=True,
            )
        ),
        "lines": conn.execute("SELECT * FROM txn_lines WHERE seq = ?", (seq,)).fetchall(),
        "accs": conn.execute("SELECT * FROM txn_accumulators WHERE seq = ?", (seq,)).fetchall(),
        "ledger": conn.execute("SELECT * FROM ledger WHERE seq = ?", (seq,)).fetchone(),
        "outbox": conn.execute("SELECT * FROM outbox WHERE seq = ?", (seq,)).fetchone(),
        # the traceability rows a sale of drugs from no-code stock writes (trace-codes.md)
        "takes": conn.execute("SELECT * FROM trace_takes WHERE txn_id = ?", (txn_id,)).fetchall(),
        # the sold person's accumulators for the sale's year: the rows a sale rewrites
        "pools": conn.execute(
            "SELECT p.* FROM person_pools p JOIN txns t ON t.psn_cert = p.psn_cert "
            "AND p.year = CAST(substr(t.visit_date, 1, 4) AS INTEGER) WHERE t.seq = ?",
            (seq,),
        ).fetchall(),
    }


def _raw_commit(path: Path, rows: dict[str, Any], n: int, start: int) -> float:
    """Seconds per commit of raw sqlite3 writing one sale's rows (its traceability rows too),
    same pragmas and schema."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")  # the ledger's pragmas, all three
    txn_sql = (
        f"INSERT INTO txns ({', '.join(TXN_COLUMNS)}) "
        f"VALUES ({', '.join(':' + c for c in TXN_COLUMNS)})"
    )
    line_sql = f"INSERT INTO txn_lines VALUES ({', '.join('?' * len(LINE_COLUMNS))})"
    t0 = time.perf_counter()
    for seq in range(start, start + n):
        txn = dict(rows["txn"], seq=seq, txn_id=f"raw-{seq}")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(txn_sql, txn)
        conn.executemany(line_sql, [(seq, *r[1:]) for r in rows["lines"]])
        conn.executemany(
            "INSERT INTO txn_accumulators VALUES (?, ?, ?, ?)",
            [(seq, *r[1:]) for r in rows["accs"]],
        )
        conn.execute(
            "INSERT INTO ledger VALUES (?, ?, ?, ?, ?)", (seq, f"raw-{seq}", *rows["ledger"][2:])
        )
        conn.execute(
            "INSERT INTO outbox (txn_id, seq, kind, fund_pay_sumamt, created_at) "
            "VALUES (?, ?, 'sale', ?, ?)",
            (f"raw-{seq}", seq, rows["outbox"][3], rows["outbox"][4]),
        )
        conn.execute(
            "INSERT OR REPLACE INTO meta VALUES ('head_seq', ?), ('head_hash', ?)",
            (str(seq), rows["ledger"][3]),
        )
        conn.execute(
            "INSERT INTO meta VALUES ('outbox_fund', '1') ON CONFLICT (key) DO UPDATE SET "
            "value = CAST(value AS INTEGER) + 1"
        )
        conn.execute("UPDATE persons SET acct_balance = acct_balance - 1")
        conn.executemany(
            "INSERT OR REPLACE INTO person_pools VALUES (?, ?, ?, ?, ?, ?)", rows["pools"]
        )
        conn.execute(  # the person's offline sales of the day (an offline sale with a fund payment)
            "INSERT INTO offline_person_day VALUES ('x', ?, 1, 1) ON CONFLICT (psn_cert, "
            "setl_date) DO UPDATE SET sales = sales + 1, fund = fund + 1",
            (rows["txn"]["setl_date"],),
        )
        conn.executemany(
            "INSERT INTO trace_nocode VALUES (?, ?, ?) ON CONFLICT (item_code) DO UPDATE SET "
            "taken = taken + excluded.taken, open_units = excluded.open_units",
            [(r[3], r[4], r[5] or "0") for r in rows["takes"] if r[2] is None],
        )
        takes = [(f"raw-{seq}", *r[1:]) for r in rows["takes"]]
        conn.executemany("INSERT INTO trace_takes VALUES (?, ?, ?, ?, ?, ?, ?, ?)", takes)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed / n


def _ours(service: CheckoutService, claim: dict[str, Any], n: int) -> float:
    """Seconds per sale of the commit path: the claim validated once, beforehand."""
    prepared = service.prepare_claim(claim)
    t0 = time.perf_counter()
    for _ in range(n):
        service.commit_claim(prepared)
    return (time.perf_counter() - t0) / n


def _headless(service: CheckoutService, claim: dict[str, Any], n: int) -> float:
    """Seconds per sale of `medpos checkout`'s whole sale: the claim JSON validated every time."""
    t0 = time.perf_counter()
    for _ in range(n):
        service.sell_claim(claim)
    return (time.perf_counter() - t0) / n


def bench_commit(root: Path, sales: int) -> float:
    service = _service(root, "commit")
    claim = _claim(service)
    _ours(service, claim, 50)  # warm up: caches, first pages
    rows = _template_rows(service.ledger, 1)
    raw_path = root / "raw" / "raw.db"
    raw_path.parent.mkdir()
    from sqlite_utils import Database

    raw_db = Database(sqlite3.connect(str(raw_path)))
    migrate(raw_db)
    raw_db.conn.execute(
        "INSERT INTO persons SELECT * FROM (SELECT 'x', NULL, NULL, NULL, '310', '11', "
        "'330100', '[]', 100000000, 'bench', '')"
    )
    raw_db.conn.commit()
    raw_db.conn.close()
    per_block = sales // BLOCKS
    ours, whole, raw = [], [], []
    for b in range(BLOCKS):  # interleaved, so that a slow spell of the disk hits all three
        raw.append(_raw_commit(raw_path, rows, per_block, 1 + b * per_block))
        ours.append(_ours(service, claim, per_block))
        whole.append(_headless(service, claim, per_block))
    service.ledger.close()
    o, w, r = statistics.median(ours), statistics.median(whole), statistics.median(raw)
    print(
        f"commit path: {o * 1e6:.0f} µs/sale; raw sqlite3 same rows: {r * 1e6:.0f} µs/sale; "
        f"ratio {o / r:.2f}× (target ≤ {COMMIT_TARGET:g}×)"
    )
    print(
        f"  the whole headless sale (claim JSON validated each time, as `medpos checkout`): "
        f"{w * 1e6:.0f} µs/sale, {w / r:.2f}× raw"
    )
    return o / r


def fill(ledger: SqliteLedger, total: int, batch: int = 20000) -> None:
    """Extend the ledger to `total` valid, signed entries made from entry 1's rows, spread over
    past days and many persons, as a terminal with that history would hold."""
    tpl = _template_rows(ledger, 1)
    conn = ledger.conn
    head, prev = ledger.head()
    key = ledger.key
    dev = ledger.dev_no
    txn_sql = (
        f"INSERT INTO txns ({', '.join(TXN_COLUMNS)}) "
        f"VALUES ({', '.join(':' + c for c in TXN_COLUMNS)})"
    )
    line_sql = f"INSERT INTO txn_lines VALUES ({', '.join('?' * len(LINE_COLUMNS))})"
    first_day = date.today() - timedelta(days=1 + total // 1000)
    done = head
    while done < total:
        txns, lines, accs, entries, acked = [], [], [], [], []
        for seq in range(done + 1, min(total, done + batch) + 1):
            day = first_day + timedelta(days=seq // 1000)
            txn = dict(
                tpl["txn"],
                seq=seq,
                txn_id=f"{dev}-{seq}",
                psn_cert=f"3301021970{seq:08d}",
                setl_date=day.isoformat(),
                settled_at=f"{day.isoformat()} 10:00:00",
            )
            ls = [(seq, *r[1:]) for r in tpl["lines"]]
            ac = [(seq, *r[1:]) for r in tpl["accs"]]
            upload = sale_input(txn, {"seq": seq, "prev_hash": prev}, ls, ac)
            digest = entry_hash(upload)
            sig = key.sign_b64(bytes.fromhex(digest))
            txns.append(txn)
            lines += ls
            accs += ac
            entries.append((seq, txn["txn_id"], prev, digest, sig))
            acked.append((txn["txn_id"], seq, "accepted", "2000-01-01T00:00:00"))
            prev = digest
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(txn_sql, txns)
        conn.executemany(line_sql, lines)
        conn.executemany("INSERT INTO txn_accumulators VALUES (?, ?, ?, ?)", accs)
        conn.executemany("INSERT INTO ledger VALUES (?, ?, ?, ?, ?)", entries)
        conn.executemany(
            "INSERT INTO acks (txn_id, seq, status, acked_at) VALUES (?, ?, ?, ?)", acked
        )
        done = entries[-1][0]
        conn.execute(
            "INSERT OR REPLACE INTO meta VALUES ('head_seq', ?), ('head_hash', ?)",
            (str(done), prev),
        )
        conn.execute("COMMIT")


def bench_growth_and_verify(root: Path, entries: int, sales: int) -> tuple[float, float]:
    small = _service(root, "small")
    claim = _claim(small)
    small.sell_claim(claim)
    fill(small.ledger, 1000)
    big = _service(root, "big")
    big.sell_claim(claim)
    t0 = time.perf_counter()
    fill(big.ledger, entries)
    print(f"filled {entries:,} signed entries in {time.perf_counter() - t0:.0f} s")
    _ours(small, claim, 50)
    _ours(big, claim, 50)
    at_small, at_big = [], []
    for _ in range(BLOCKS):
        at_small.append(_ours(small, claim, sales // BLOCKS))
        at_big.append(_ours(big, claim, sales // BLOCKS))
    s, b = statistics.median(at_small), statistics.median(at_big)
    growth = b / s
    print(
        f"growth: {b * 1e6:.0f} µs/sale at {entries:,} entries, {s * 1e6:.0f} µs/sale at 1,000: "
        f"ratio {growth:.2f}× (target ≤ 1.2×)"
    )

    ledger = big.ledger
    t0 = time.perf_counter()
    report = verify_ledger(ledger)
    ours = (time.perf_counter() - t0) / report.entries
    assert report.ok, report
    sample = min(50000, report.entries)
    public = Ed25519PublicKey.from_public_bytes(ledger.key.public_raw)
    blobs = []
    conn = ledger.conn
    for seq, prev, sig in conn.execute(
        "SELECT seq, prev_hash, sig FROM ledger ORDER BY seq LIMIT ?", (sample,)
    ):
        txn = dict(
            zip(
                TXN_COLUMNS,
                conn.execute(
                    f"SELECT {', '.join(TXN_COLUMNS)} FROM txns WHERE seq = ?", (seq,)
                ).fetchone(),
                strict=True,
            )
        )
        ls = conn.execute(
            "SELECT * FROM txn_lines WHERE seq = ? ORDER BY line_no", (seq,)
        ).fetchall()
        ac = conn.execute(
            "SELECT * FROM txn_accumulators WHERE seq = ? ORDER BY phase, path", (seq,)
        ).fetchall()
        blob = canonical_json(sale_input(txn, {"seq": seq, "prev_hash": prev}, ls, ac))
        blobs.append((blob, base64.b64decode(sig)))
    t0 = time.perf_counter()
    for blob, sig in blobs:
        public.verify(sig, hashlib.sha256(blob).digest())
    raw = (time.perf_counter() - t0) / len(blobs)
    print(
        f"ledger verify: {ours * 1e6:.0f} µs/entry over {report.entries:,} entries "
        f"({ours * report.entries:.0f} s); raw SHA-256 + Ed25519 of the same bytes: "
        f"{raw * 1e6:.0f} µs/entry; ratio {ours / raw:.2f}× (target ≤ 1.5×)"
    )
    small.ledger.close()
    big.ledger.close()
    return growth, ours / raw


def bench_memory(root: Path, repeat: int) -> float:
    import psutil

    cfg = write_config(root / "mem.toml", {"risk": HIGH_LIMITS})
    service = _service(root, "mem-seed")
    claim_file = root / "claim.json"
    claim_file.write_text(json.dumps(_claim(service), ensure_ascii=False), encoding="utf-8")
    service.ledger.close()
    env = medpos_env(cfg)
    proc = subprocess.Popen(
        [
            MEDPOS,
            "checkout",
            "--claim",
            str(claim_file),
            "--repeat",
            str(repeat),
            "--db",
            str(root / "mem" / "medpos.db"),
        ],
        stdout=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    handle = psutil.Process(proc.pid)
    rss_at: dict[int, int] = {}
    for count, _ in enumerate(proc.stdout, start=1):
        if count in (1000, repeat - 1):
            rss_at[count] = handle.memory_info().rss
    proc.wait()
    growth = (rss_at[repeat - 1] - rss_at[1000]) / 2**20
    print(
        f"memory: RSS {rss_at[1000] / 2**20:.1f} MiB after 1,000 sales, "
        f"{rss_at[repeat - 1] / 2**20:.1f} MiB after {repeat - 1:,}: growth {growth:.2f} MiB "
        f"(target < 5 MB)"
    )
    return growth


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.core")
    parser.add_argument(
        "--entries", type=int, default=int(os.environ.get("MEDPOS_BENCH_ENTRIES", "1000000"))
    )
    parser.add_argument("--sales", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20000)
    args = parser.parse_args(argv)
    os.environ.pop("MEDPOS_CONFIG", None)
    with tempfile.TemporaryDirectory(prefix="medpos-bench-", dir=os.environ.get("TMPDIR")) as tmp:
        root = Path(tmp)
        commit = bench_commit(root, args.sales)
        service = _service(root, "parts")
        bench_parts(service, _claim(service))
        service.ledger.close()
        growth, verify = bench_growth_and_verify(root, args.entries, args.sales)
        memory = bench_memory(root, args.repeat)
    missed = [
        name
        for name, ok in (
            ("commit", commit <= COMMIT_TARGET),
            ("growth", growth <= 1.2),
            ("verify", verify <= 1.5),
            ("memory", memory < 5),
        )
        if not ok
    ]
    print("core targets: " + ("all met" if not missed else "missed: " + ", ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
