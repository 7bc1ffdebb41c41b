"""`medpos refdata import FILE…` (signed reference data from a file) and `medpos refdata status`."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from terminal.cli._common import Context, emit_json, fail, open_service, read_json_file

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("refdata", help="reference data: import signed files, show what is held")
    action = p.add_subparsers(dest="refdata_command", metavar="ACTION", required=True)
    i = action.add_parser("import", help="take in signed refdata objects (as the platform sends)")
    i.add_argument("files", nargs="+", metavar="FILE")
    i.add_argument("--root-key", help="platform root key, base64 (default: [platform] config)")
    i.add_argument("--db", metavar="PATH")
    i.set_defaults(func=_import)
    s = action.add_parser("status", help="versions held, and when each was last confirmed")
    s.add_argument("--db", metavar="PATH")
    s.set_defaults(func=_status)


def _import(args: argparse.Namespace, ctx: Context) -> int:
    from sync.protocol.refdata import RefdataError, load_root_public_key
    from terminal.checkout.refdata import RefdataRefused, accept_refdata

    b64 = args.root_key or ctx.config.platform.root_public_key
    if not b64:
        return fail(
            "no platform root key: enrol the terminal (medpos enrol) or set [platform] "
            "root_public_key, then import again",
            2,
        )
    try:
        root = load_root_public_key(b64)
    except RefdataError as exc:
        return fail(str(exc), 2)
    service = open_service(ctx, args.db)
    failed = 0
    for path in args.files:
        try:
            accepted = accept_refdata(
                service.ledger, read_json_file(path), root, service.local_now()
            )
        except (ValueError, RefdataRefused) as exc:
            failed += 1
            emit_json({"file": path, "error": "refused", "message": str(exc)})
            continue
        emit_json(
            {
                "file": path,
                "kind": accepted.kind,
                "version": accepted.version,
                "outcome": accepted.outcome,
            }
        )
    return 1 if failed else 0


def _status(args: argparse.Namespace, ctx: Context) -> int:
    service = open_service(ctx, args.db)
    now = service.local_now()
    for kind, (version, issued_at, confirmed_at) in sorted(
        service.ledger.refdata_versions().items()
    ):
        age = now - datetime.fromisoformat(confirmed_at)
        emit_json(
            {
                "kind": kind,
                "version": version,
                "issued_at": issued_at,
                "confirmed_at": confirmed_at,
                "confirmed_hours_ago": round(age.total_seconds() / 3600, 1),
            }
        )
    return 0
