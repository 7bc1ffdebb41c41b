"""Traceability code benchmark (issue 15, section Measure).

A sale of 10 coded packages (the demo pharmacy claim plus a line of 10 boxes of a drug with 10
fresh codes: normalised, checked against the terminal's code table, written in the sale's unit of
work and covered by its hash) against the same sale without codes (a terminal whose rule starts
in the future, so the line needs none). Both through `CheckoutService.commit_claim` on their own
database files, in alternating blocks. Target ≤ 1.3×.

`--sales N` per side (default 300); the full run uses 2000.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from terminal.bootstrap import open_terminal
from terminal.checkout.service import CheckoutService
from terminal.config import load_config
from terminal.demo import demo_claim
from tests.conftest import HIGH_LIMITS, write_config

TARGET = 1.3
PACKAGES = 10
DRUG = {"code": "XJ01DB0006", "qty": str(PACKAGES), "price": "8.70"}
BLOCKS = 6


def _service(root: Path, name: str, trace: dict[str, Any]) -> CheckoutService:
    cfg = write_config(root / f"{name}.toml", {"risk": HIGH_LIMITS, "trace": trace})
    return open_terminal(load_config(cfg, env={}), db_path=root / name / "medpos.db")


def _time_sales(service: CheckoutService, claims: list[dict[str, Any]]) -> list[float]:
    times = []
    for claim in claims:
        prepared = service.prepare_claim(claim)
        started = time.perf_counter()
        service.commit_claim(prepared)
        times.append(time.perf_counter() - started)
    return times


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench trace")
    parser.add_argument("--sales", type=int, default=300, help="sales per side (full: 2000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="medpos-bench-trace-") as tmp:
        root = Path(tmp)
        coded = _service(root, "coded", {})
        plain = _service(root, "plain", {"settle_required_from": "2999-01-01"})
        try:
            base = demo_claim("pharmacy", coded.local_now().date())
            serial = 0
            with_codes: list[float] = []
            without: list[float] = []
            per_block = max(1, args.sales // BLOCKS)
            # a warm-up sale each, then alternating blocks so a busy machine moves both sides
            for block in range(BLOCKS + 1):
                claims_coded = []
                for _ in range(per_block):
                    codes = [f"8{serial + i:019d}" for i in range(PACKAGES)]
                    serial += PACKAGES
                    claim = copy.deepcopy(base)
                    claim["basket"].append({**DRUG, "trac": codes})
                    claims_coded.append(claim)
                claim_plain = copy.deepcopy(base)
                claim_plain["basket"].append(dict(DRUG))
                a = _time_sales(coded, claims_coded)
                b = _time_sales(plain, [claim_plain] * per_block)
                if block:
                    with_codes += a
                    without += b
        finally:
            coded.ledger.close()
            plain.ledger.close()
    t_coded = statistics.median(with_codes)
    t_plain = statistics.median(without)
    ratio = t_coded / t_plain
    print(
        f"sale with {PACKAGES} coded packages: {t_coded * 1e3:.2f} ms (median of {len(with_codes)})"
    )
    print(f"the same sale without codes:        {t_plain * 1e3:.2f} ms (median of {len(without)})")
    ok = ratio <= TARGET
    print(f"ratio {ratio:.2f}x (target <= {TARGET}x): {'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
