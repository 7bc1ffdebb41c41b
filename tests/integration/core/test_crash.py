"""kill -9 at random moments of `medpos checkout --repeat`: nothing printed is lost, nothing is half
written, the chain verifies and the accumulators are the sum of the sales."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from terminal.config import load_config
from terminal.demo import demo_claim
from terminal.ledger import SqliteLedger, verify_ledger
from terminal.settlement.money import parse_money
from tests.conftest import HIGH_LIMITS, MEDPOS, medpos_env
from tests.support.kill9 import kill_while_printing

KILLS = 30


def test_kill_9_during_repeated_checkout_loses_and_half_writes_nothing(
    make_config: Callable[..., Path], tmp_path: Path
) -> None:
    config_path = make_config(risk=HIGH_LIMITS)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    claim = demo_claim("pharmacy", today)
    claim_file = tmp_path / "claim.json"
    claim_file.write_text(json.dumps(claim, ensure_ascii=False), encoding="utf-8")
    env = medpos_env(config_path)
    rng = random.Random(20261124)
    printed: dict[str, str] = {}
    for _ in range(KILLS):
        proc = subprocess.Popen(
            [MEDPOS, "checkout", "--claim", str(claim_file), "--repeat", "1000000"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for sale in kill_while_printing(proc, rng, 0.25):
            printed[sale["txn_id"]] = sale["hash"]
    assert len(printed) >= KILLS

    config = load_config(config_path)
    with SqliteLedger.open(config.db_path, dev_no=config.terminal.dev_no) as ledger:
        stored = {r["txn_id"]: r["hash"] for r in ledger.query("SELECT txn_id, hash FROM ledger")}
        assert {t: stored.get(t) for t in printed} == printed  # every printed sale is there
        for table in ("txns", "outbox"):
            ids = {r["txn_id"] for r in ledger.query(f"SELECT txn_id FROM {table}")}
            assert ids == set(stored), f"{table} disagrees with the ledger"
        with_lines = {r["seq"] for r in ledger.query("SELECT DISTINCT seq FROM txn_lines")}
        assert with_lines == set(range(1, len(stored) + 1))
        report = verify_ledger(ledger)
        assert report.ok, report

        # the person's accumulators are the seed advanced by every committed sale, in order
        psn = claim["person"]["psn_cert"]
        year = int(claim["visit"]["date"][:4])
        rows = ledger.query("SELECT seq, acct_pay FROM txns ORDER BY seq")
        seed = parse_money(claim["accumulators"]["acct_balance"], "seed")
        cached = ledger.accumulators(psn, year)
        assert cached is not None
        assert parse_money(cached["acct_balance"], "b") == seed - sum(r["acct_pay"] for r in rows)
        conn = sqlite3.connect(config.db_path)
        chain = conn.execute(
            "SELECT seq, phase, path, amount FROM txn_accumulators ORDER BY seq, phase, path"
        ).fetchall()
        by_seq: dict[int, dict[str, dict[str, int]]] = {}
        for seq, phase, path, amount in chain:
            by_seq.setdefault(seq, {"before": {}, "after": {}})[phase][path] = amount
        seqs = sorted(by_seq)
        for a, b in zip(seqs, seqs[1:], strict=False):
            for path, value in by_seq[b]["before"].items():
                assert by_seq[a]["after"].get(path, 0) == value, (a, b, path)
        last_after = by_seq[seqs[-1]]["after"]
        for pool, fields in cached["pools"].items():
            for field, value in fields.items():
                assert last_after.get(f"pools/{pool}/{field}", 0) == parse_money(value, field)
