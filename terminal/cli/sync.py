"""`medpos enrol`, `medpos sync [--once]`, `medpos sync status`, `medpos sync release`, and the
bundles `medpos sync export --to DIR | import FILE | relay FILE --to DIR` (`_bundle.py`).

`medpos sync [--once]` exits 1 when the platform could not be reached (the upload, the chain-head
check or the reference data), 3 when the platform's chain head is ahead of this terminal's
(`rolled_back`: the database was restored from an older copy; the loop stops too)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from terminal.cli._common import Context, emit_json, fail, open_terminal

__all__ = ["register"]


def register(sub: Any) -> None:
    e = sub.add_parser("enrol", help="enrol this terminal with the platform (9101)")
    e.add_argument("--platform", metavar="URL", help="platform URL (default: [platform] url)")
    e.add_argument("--code", required=True, help="the one-time code from the platform operator")
    e.add_argument("--db", metavar="PATH")
    e.set_defaults(func=_enrol)

    s = sub.add_parser("sync", help="upload the outbox and fetch reference data")
    s.add_argument(
        "action",
        nargs="?",
        choices=["run", "status", "release", "export", "import", "relay"],
        default="run",
    )
    s.add_argument(
        "txn_id",
        nargs="?",
        metavar="TXN_ID|FILE",
        help="with release: one parked sale or 3505 report (default: all); with import and "
        "relay: the file",
    )
    s.add_argument("--to", metavar="DIR", help="with export and relay: where the file goes")
    s.add_argument("--once", action="store_true", help="one pass, then exit")
    s.add_argument("--db", metavar="PATH")
    s.set_defaults(func=_sync)

    r = sub.add_parser("reconcile", help="reconcile a day with the platform (3201, 3202)")
    r.add_argument("--date", help="yyyy-mm-dd (default: today)")
    r.add_argument("--db", metavar="PATH")
    r.set_defaults(func=_reconcile)


def _enrol(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.errors import SyncError

    terminal = open_terminal(ctx, args.db)
    try:
        output = terminal.connect(args.platform).enrol(args.code)
    except SyncError as exc:
        return fail(str(exc), 1)
    emit_json({"enrolled": True, **output})
    return 0


def _sync(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.checkout.syncing import HEARTBEAT_MAX_INTERVAL_S, sync_status
    from terminal.errors import SyncError

    if args.action in ("export", "import", "relay"):
        from terminal.cli._bundle import bundle_command

        return bundle_command(args, ctx)
    terminal = open_terminal(ctx, args.db)
    service = terminal.service
    if args.action == "status":
        emit_json(sync_status(service))
        return 0
    if args.action == "release":  # parked uploads and parked 3505 reports, after a fix
        with service.ledger.write() as unit:
            released = unit.release_parked(args.txn_id)
            reports = unit.release_trace_reports(args.txn_id)
            unit.audit(
                "release_parked",
                None,
                {"txn_id": args.txn_id, "count": released, "trace_reports": reports},
                service.local_now(),
            )
            unit.commit()
        emit_json({"released": released, "trace_reports_released": reports})
        return 0
    syncer = terminal.sync or terminal.connect()
    while True:
        report = syncer.drain()
        line: dict[str, Any] = {"upload": report.as_json()}
        unreachable = report.error is not None
        if not unreachable:
            try:
                if report.sent == 0:  # nothing acknowledged: ask for the platform's chain head
                    syncer.check_chain_head()
                line["refdata"] = syncer.refresh_refdata()
                line["heartbeat"] = syncer.heartbeat()
            except SyncError as exc:
                line["refdata_error"] = str(exc)
                # a terminal not enrolled yet reached nothing to fail: that is not unreachable
                unreachable = sync_status(service)["enrolled"]
        status = line["status"] = sync_status(service)
        emit_json(line)
        if status["rolled_back"] is not None:
            return fail(
                "this database is older than the platform's chain (platform head seq "
                f"{status['rolled_back']['platform']['seq']}, this terminal's seq "
                f"{status['rolled_back']['local']['seq']}): it was restored from an older copy; "
                "insurance sales are stopped until the current database is restored",
                3,
            )
        if args.once:
            return 1 if unreachable else 0
        time.sleep(min(ctx.config.platform.sync_interval_s, HEARTBEAT_MAX_INTERVAL_S))


def _reconcile(args: argparse.Namespace, ctx: Context) -> int:
    from datetime import date

    from terminal.errors import SyncError

    terminal = open_terminal(ctx, args.db)
    try:
        day = date.fromisoformat(args.date) if args.date else terminal.service.local_now().date()
    except ValueError:
        return fail(f"--date {args.date!r}: give yyyy-mm-dd", 2)
    try:
        out = (terminal.sync or terminal.connect()).reconcile(day)
    except SyncError as exc:
        return fail(str(exc), 1)
    emit_json(out)
    return 0 if out["matches"] else 1
