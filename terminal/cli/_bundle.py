"""`medpos sync export --to DIR`, `medpos sync import FILE`, `medpos sync relay FILE --to DIR`:
the outbox carried by hand (platform-api.md "Field and fleet additions"; docs/field.md).

export prints `{"file", "messages", "sha256"}` (`file` null when nothing was queued); import
prints what changed; relay prints the answer's path alone on a line. Exit 1 when the platform
refused the bundle or the answer is refused, 2 for a missing `--to` or an unreadable file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from terminal.cli._common import Context, emit_json, fail, open_terminal, read_json_file

__all__ = ["bundle_command"]


def bundle_command(args: argparse.Namespace, ctx: Context) -> int:
    from sync.protocol.bundle import MAX_BUNDLE_BYTES
    from terminal.checkout.syncing.bundles import export_bundle, import_answer, relay_bundle
    from terminal.errors import SyncError

    if args.action in ("export", "relay") and not args.to:
        return fail(f"sync {args.action} needs --to DIR (the stick's directory)", 2)
    if args.action in ("import", "relay") and not args.txn_id:
        return fail(f"sync {args.action} needs the FILE to {args.action}", 2)
    terminal = open_terminal(ctx, args.db)
    syncer = terminal.sync or terminal.connect()
    try:
        if args.action == "export":
            emit_json(export_bundle(syncer, Path(args.to)).as_json())
            return 0
        if args.action == "import":
            obj = read_json_file(args.txn_id, limit=MAX_BUNDLE_BYTES)
            emit_json(import_answer(syncer, obj))
            return 0
        data = _read_bytes(args.txn_id, MAX_BUNDLE_BYTES)
        print(relay_bundle(syncer, data, Path(args.to)), flush=True)
        return 0
    except ValueError as exc:
        return fail(str(exc), 2)
    except (SyncError, OSError) as exc:
        return fail(f"{args.txn_id or args.to}: {exc}", 1)


def _read_bytes(path: str, limit: int) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read: {exc.strerror}") from None
    if len(data) > limit:
        raise ValueError(f"{path}: larger than {limit} bytes: not a bundle medpos reads")
    return data
