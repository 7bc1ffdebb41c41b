"""`medpos field prepare [--days N]` (docs/field.md): sync and refresh before a field team goes
out, then what the device can do offline for N days. Exit 0 when it covers them, 1 with the
reasons (first lapse first) when it cannot, or when the platform could not be reached."""

from __future__ import annotations

import argparse
from typing import Any

from terminal.cli._common import Context, emit_json, fail, open_terminal

__all__ = ["register"]

DEFAULT_DAYS = 5


def register(sub: Any) -> None:
    p = sub.add_parser("field", help="field devices: prepare for days without network")
    field = p.add_subparsers(dest="field_command", metavar="ACTION", required=True)
    prep = field.add_parser("prepare", help="sync, refresh, and check N days offline")
    prep.add_argument("--days", type=int, default=DEFAULT_DAYS, help=f"default {DEFAULT_DAYS}")
    prep.add_argument("--db", metavar="PATH")
    prep.set_defaults(func=_prepare)


def _prepare(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.checkout.field import prepare_field

    if not 1 <= args.days <= 366:
        return fail(f"--days {args.days}: give a number of days from 1 to 366", 2)
    terminal = open_terminal(ctx, args.db)
    if terminal.sync is None:
        return fail("this terminal is not enrolled: run `medpos enrol --code CODE` first", 1)
    covered, report = prepare_field(terminal.sync, args.days)
    emit_json(report)
    if covered:
        return 0
    return fail(f"cannot cover {args.days} days offline: " + "; ".join(report["problems"]), 1)
