"""`medpos ledger verify [--platform]`: walk the chains, signatures and anchors (exit 1 on the
first fault); with `--platform`, also the sales chain against what the platform acknowledged."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from terminal.cli._common import Context, emit_json

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("ledger", help="ledger integrity")
    ps = p.add_subparsers(dest="ledger_command", metavar="ACTION", required=True)
    v = ps.add_parser("verify", help="recompute every hash and signature and check the anchors")
    v.add_argument("--db", metavar="PATH", help="terminal database (default: from config)")
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.add_argument(
        "--platform",
        action="store_true",
        help="also compare the sales chain with the hashes the platform acknowledged and its "
        "chain head (the anchor outside this terminal)",
    )
    v.set_defaults(func=_verify)


def _verify(args: argparse.Namespace, ctx: Context) -> int:
    from pathlib import Path

    from terminal.errors import LedgerError
    from terminal.ledger import SqliteLedger, report_text, verify_ledger, verify_platform

    path = Path(args.db) if args.db else ctx.config.db_path
    if not path.exists():
        print(f"medpos: no ledger at {path}: give the database with --db", file=sys.stderr)
        return 2
    try:
        ledger = SqliteLedger.open(path, dev_no=ctx.config.terminal.dev_no, signing=False)
    except LedgerError as exc:
        print(f"medpos: {exc}", file=sys.stderr)
        return 1
    ctx.on_close(ledger.close)
    report = verify_platform(ledger) if args.platform else verify_ledger(ledger)
    if args.json:
        emit_json(report.as_json())
    else:
        print(report_text(report))
    return 0 if report.ok else 1
