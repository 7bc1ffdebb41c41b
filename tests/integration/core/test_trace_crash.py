"""kill -9 in the middle of sales with traceability codes: no code is marked sold without its
sale, and no sale with codes lacks them in the code table (trace-codes.md "Uniqueness on the
terminal": written in the same transaction as the sale)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from terminal.config import load_config
from terminal.ledger import SqliteLedger, verify_ledger
from tests.conftest import HIGH_LIMITS
from tests.support.kill9 import kill_while_printing

KILLS = 4

# sells the demo claim plus one drug line of 2 boxes with 2 fresh codes, again and again,
# printing each sale's txn_id and codes once it is committed
_SELLER = """
import copy, json, sys
from terminal.bootstrap import open_terminal
from terminal.config import load_config
from terminal.demo import demo_claim
service = open_terminal(load_config(sys.argv[1]))
base = demo_claim("pharmacy", service.local_now().date())
n = int(sys.argv[2])
while True:
    codes = [f"8{n:018d}{k}" for k in range(2)]
    n += 1
    claim = copy.deepcopy(base)
    claim["basket"].append({"code": "XJ01DB0006", "qty": "2", "price": "8.70", "trac": codes})
    sale = service.sell_claim(claim)
    print(json.dumps({"txn_id": sale.txn_id, "codes": codes}), flush=True)
"""


def test_kill_9_mid_sale_leaves_codes_and_sales_together(
    make_config: Callable[..., Path],
) -> None:
    config_path = make_config(risk=HIGH_LIMITS)
    rng = random.Random(20261206)
    printed: dict[str, list[str]] = {}
    for kill in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, "-c", _SELLER, str(config_path), str(kill * 1_000_000)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        for sale in kill_while_printing(proc, rng, 0.2):
            printed[sale["txn_id"]] = sale["codes"]
    assert len(printed) >= KILLS

    config = load_config(config_path)
    with SqliteLedger.open(config.db_path, dev_no=config.terminal.dev_no) as ledger:
        sales = {r["txn_id"] for r in ledger.query("SELECT txn_id FROM txns")}
        codes = {
            r["code"]: r["txn_id"] for r in ledger.query("SELECT code, txn_id FROM trace_codes")
        }
        assert set(codes.values()) == sales  # every code's sale exists, every sale has its codes
        for txn_id, sold in printed.items():
            assert [codes.get(c) for c in sold] == [txn_id, txn_id]
        traced = (
            "SELECT t.txn_id, l.trac FROM txn_lines l JOIN txns t USING (seq) "
            "WHERE l.trac IS NOT NULL"
        )
        for row in ledger.query(traced):
            assert all(codes[c] == row["txn_id"] for c in json.loads(row["trac"]))
        assert verify_ledger(ledger).ok
