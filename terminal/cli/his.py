"""`medpos his pending`: the hospital desk's settlements deferred while offline (his-api.md
"Deferred settlement"), oldest first, with their age; the billing desk page shows the same list."""

from __future__ import annotations

import argparse
from typing import Any

from terminal.cli._common import Context, emit_json, open_terminal

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("his", help="the hospital desk (HIS API)")
    ps = p.add_subparsers(dest="his_command", metavar="ACTION", required=True)
    pending = ps.add_parser("pending", help="settlements deferred while offline, oldest first")
    pending.add_argument("--db", metavar="PATH", help="terminal database (default: from config)")
    pending.add_argument("--json", action="store_true", help="one JSON line per settlement")
    pending.set_defaults(func=_pending)


def _pending(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.his.pending import pending_settlements
    from terminal.settlement.money import format_fen

    terminal = open_terminal(ctx, args.db)
    rows = pending_settlements(terminal.service)
    if args.json:
        for row in rows:
            emit_json(row)
        return 0
    if not rows:
        print("no deferred settlement")
        return 0
    for row in rows:
        print(
            f"{row['mdtrt_id']}  {row['kind']:<10} {row['psn_no']}  "
            f"{format_fen(row['total']):>10}  deferred {row['at']} ({_age(row['age_s'])} ago)  "
            f"{row['code']}"
        )
    return 0


def _age(seconds: int) -> str:
    hours, rest = divmod(max(0, seconds), 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min"
