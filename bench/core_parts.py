"""Where a sale's Python work goes (printed by `python -m bench core`): each part of the commit
path (settlement, rows, upload input, canonical JSON + SHA-256, the Ed25519 signature) timed warm
and alone, the claim's validation beside them. The figures of a run belong here, not in docs/."""

from __future__ import annotations

import time
from typing import Any

from terminal.checkout.service import CheckoutService
from terminal.ledger.records import entry_hash, sale_input, sale_rows
from terminal.settlement import parse_claim, settle


def _per_call(fn: Any, n: int = 2000) -> float:
    """Microseconds per call of `fn()`, warm: the best of three runs of `n` calls."""
    for _ in range(50):
        fn()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, time.perf_counter() - t0)
    return best / n * 1e6


def bench_parts(service: CheckoutService, claim: dict[str, Any]) -> None:
    """Where a sale's Python work goes: each part of the commit path timed warm, on its own."""
    ref = service.reference()
    parsed = parse_claim(claim)
    result = settle(ref.policy, ref.catalogue, parsed)
    kwargs: dict[str, Any] = {
        "txn_id": "bench-1",
        "seq": 1,
        "settled_at": "2026-03-16 10:00:00",
        "setl_date": "2026-03-16",
        "offline": True,
        "operator": None,
        "payment_method": None,
        "identity": {"mdtrt_cert_type": "02", "mdtrt_cert_no": claim["person"]["psn_cert"]},
        "psn_name": None,
        "claim": claim,
        "before": parsed.accumulators,
        "result": result,
        "catalogue_version": ref.catalogue_version,
    }
    txn, lines, accs = sale_rows(**kwargs)
    chain = {"seq": 1, "prev_hash": "0" * 64}
    upload = sale_input(txn, chain, lines, accs)
    digest = bytes.fromhex(entry_hash(upload))
    key = service.ledger.key
    parts = [
        ("claim validation (outside the commit path)", lambda: parse_claim(claim)),
        ("settlement", lambda: settle(ref.policy, ref.catalogue, parsed)),
        ("rows", lambda: sale_rows(**kwargs)),
        ("upload input", lambda: sale_input(txn, chain, lines, accs)),
        ("canonical JSON + SHA-256", lambda: entry_hash(upload)),
        ("Ed25519 signature", lambda: key.sign_b64(digest)),
    ]
    print("  where a sale's Python work goes (each part warm, alone):")
    for name, fn in parts:
        print(f"    {name}: {_per_call(fn):.1f} µs")
