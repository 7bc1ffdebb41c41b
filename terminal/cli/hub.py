"""`medpos hub serve | keygen | enrol-code | publish | import | operator add | report
trace-conflicts | trace-partitions | partitions` (platform-api.md "Platform administration",
trace-codes.md "To the platform"; the console's operators: docs/operations.md "Fleet console";
the monthly partitions: docs/scale.md "Partitioning and retention").

`publish --persons FILE --assign DEV_NO` also assigns every person of the file to device DEV_NO:
its persons refdata carries them from then on, beside the persons of its region who settled at
its institution in the last 400 days.

The reference central platform. `--db URL` is a SQLite file (default: `hub.db` in the terminal's
data directory, what the embedded default runs on loopback) or a PostgreSQL URL
(`postgresql+psycopg://user@host/db`) shared by several hub processes.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from terminal.cli._common import Context, emit_json, fail, read_json_file, read_text_file

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("hub", help="the reference central platform")
    hub = p.add_subparsers(dest="hub_command", metavar="ACTION", required=True)

    def with_db(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument("--db", metavar="URL", help="database URL or SQLite path")
        return parser

    s = with_db(hub.add_parser("serve", help="serve the platform API"))
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, help="default: the port of [platform] url")
    s.add_argument(
        "--workers",
        type=int,
        default=1,
        help="hub processes (uvicorn workers) sharing the database: one per core on PostgreSQL",
    )
    s.set_defaults(func=_serve)
    k = with_db(hub.add_parser("keygen", help="create the platform root key"))
    k.add_argument("--replace", action="store_true", help="replace an existing root key")
    k.set_defaults(func=_keygen)
    e = with_db(hub.add_parser("enrol-code", help="print a one-time enrolment code"))
    e.add_argument("--dev-no", required=True)
    e.add_argument("--fixmedins-code", default="P33010000001")
    e.add_argument("--fixmedins-name", default="杭州市民康大药房")
    e.add_argument("--admvs", default="330100", help="mdtrtarea_admvs of the institution")
    e.set_defaults(func=_enrol_code)
    pub = with_db(hub.add_parser("publish", help="sign and publish reference data"))
    what = pub.add_mutually_exclusive_group(required=True)
    for kind in ("policy", "catalogue", "trust-list", "hotlist", "persons"):
        what.add_argument(f"--{kind}", metavar="FILE")
    pub.add_argument(
        "--assign",
        metavar="DEV_NO",
        action="append",
        default=[],
        help="with --persons: every person of the file goes to this device's persons refdata "
        "whatever their region (a field team's list; repeat for several devices)",
    )
    pub.set_defaults(func=_publish)
    imp = with_db(hub.add_parser("import", help="answer a bundle carried by hand"))
    imp.add_argument("file", metavar="FILE", help="a <dev_no>-<first>-<last>.medpos.json bundle")
    imp.add_argument("--to", required=True, metavar="DIR", help="where the answer is written")
    imp.set_defaults(func=_import)

    op = hub.add_parser("operator", help="the fleet console's operators")
    op_sub = op.add_subparsers(dest="operator_command", metavar="ACTION", required=True)
    add = with_db(op_sub.add_parser("add", help="add an operator or set their password"))
    add.add_argument("--name", required=True)
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (else it is asked for)",
    )
    add.set_defaults(func=_operator_add)

    report = hub.add_parser("report", help="platform reports")
    reports = report.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    tc = with_db(reports.add_parser("trace-conflicts", help="codes sold twice (trace-codes.md)"))
    tc.add_argument("--date", required=True, help="the second sale's date, yyyy-mm-dd")
    tc.set_defaults(func=_trace_conflicts)
    tp = with_db(
        hub.add_parser(
            "trace-partitions",
            help="PostgreSQL: the code table's partitions alone (older name; see partitions)",
        )
    )
    tp.add_argument("--months", type=int, default=3, help="this month and the next ones")
    tp.set_defaults(func=_trace_partitions)
    pa = with_db(
        hub.add_parser(
            "partitions", help="PostgreSQL: make the monthly partitions of entries and codes"
        )
    )
    pa.add_argument(
        "--ahead", type=int, default=3, metavar="N", help="this month and the N months after it"
    )
    pa.set_defaults(func=_partitions)


def _hub(args: argparse.Namespace, ctx: Context) -> Any:
    from sync.hub.db import migrate, open_engine
    from sync.hub.service import Hub
    from terminal.files import create_private_database

    url = args.db or str(ctx.config.data_dir / "hub.db")
    if "://" not in url and Path(url).parent.is_dir():
        create_private_database(Path(url))  # the platform's root key lives in it: 0600
    engine = open_engine(url)
    migrate(engine)
    ctx.on_close(engine.dispose)
    # MEDPOS_CLOCK_OFFSET_S shifts the platform's clock as it shifts a terminal's (drills, and
    # tests of days offline against a real hub process)
    offset = float(os.environ.get("MEDPOS_CLOCK_OFFSET_S", "0") or 0)
    return Hub(engine, zone=ctx.config.terminal.timezone, clock=lambda: time.time() + offset)


def _serve(args: argparse.Namespace, ctx: Context) -> int:
    from urllib.parse import urlparse

    import uvicorn

    from sync.hub.app import HUB_KEEPALIVE_S, create_app

    if args.workers < 1:
        return fail("--workers: give 1 or more hub processes", 2)
    hub = _hub(args, ctx)
    port = args.port or urlparse(ctx.config.platform.url).port or 8710
    print(f"medpos platform: http://{args.host}:{port}/fsi/api/", flush=True)
    # longer than a terminal keeps an idle connection (sync/client/http.py KEEPALIVE_S): the
    # client always lets go first, so it never sends on a connection the hub is closing
    options: dict[str, Any] = {
        "host": args.host,
        "port": port,
        "log_level": "warning",
        "timeout_keep_alive": HUB_KEEPALIVE_S,
    }
    if args.workers == 1:
        uvicorn.run(create_app(hub), **options)
        return 0
    return _serve_workers(args.workers, hub, options)


def _serve_workers(workers: int, hub: Any, options: dict[str, Any]) -> int:
    """Several hub processes on one port (uvicorn workers), each building its app from the
    environment; their metrics summed through prometheus-client's multiprocess directory."""
    import os
    import shutil
    import tempfile

    import uvicorn

    from sync.hub.serving import DB_ENV, ZONE_ENV
    from sync.metrics import MULTIPROC_ENV

    os.environ[DB_ENV] = hub.engine.url.render_as_string(hide_password=False)
    os.environ[ZONE_ENV] = str(hub.tz)
    owned = None
    if not os.environ.get(MULTIPROC_ENV):
        owned = os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="medpos-metrics-")
    hub.engine.dispose()  # the workers open their own connections
    try:
        uvicorn.run("sync.hub.serving:app_from_env", factory=True, workers=workers, **options)
    finally:
        if owned is not None:
            shutil.rmtree(owned, ignore_errors=True)
    return 0


def _keygen(args: argparse.Namespace, ctx: Context) -> int:
    from sync.hub.errors import HubError

    try:
        public = _hub(args, ctx).keygen(replace=args.replace)
    except HubError as exc:
        return fail(str(exc), 1)
    emit_json({"root_public_key": public})
    return 0


def _enrol_code(args: argparse.Namespace, ctx: Context) -> int:
    code = _hub(args, ctx).enrol_code(
        args.dev_no,
        fixmedins_code=args.fixmedins_code,
        fixmedins_name=args.fixmedins_name,
        mdtrtarea_admvs=args.admvs,
    )
    print(code, flush=True)
    return 0


def _publish(args: argparse.Namespace, ctx: Context) -> int:
    from sync.hub.errors import HubError

    kind, path = next(
        (k, getattr(args, k.replace("-", "_")))
        for k in ("policy", "catalogue", "trust-list", "hotlist", "persons")
        if getattr(args, k.replace("-", "_"))
    )
    if args.assign and kind != "persons":
        return fail("--assign goes with --persons: it names the devices the persons go to", 2)
    try:
        document = read_text_file(path) if kind == "policy" else read_json_file(path)
        hub = _hub(args, ctx)
        obj = hub.publish(kind.replace("-", ""), document)
    except (ValueError, HubError) as exc:
        return fail(str(exc), 2)
    line: dict[str, Any] = {"kind": obj["kind"], "version": obj["version"], "file": str(Path(path))}
    if args.assign:
        psn_certs = [
            str(entry["person"]["psn_cert"]) for entry in document if isinstance(entry, dict)
        ]
        line["assigned"] = {dev: hub.assign_persons(dev, psn_certs) for dev in args.assign}
    emit_json(line)
    return 0


def _import(args: argparse.Namespace, ctx: Context) -> int:
    """`medpos hub import FILE --to DIR`: the answer's path, alone on a line; exit 1 naming the
    first bad message when the bundle is refused (nothing stored)."""
    from sync.hub.bundles import BundleRefused, answer_bundle
    from sync.protocol.bundle import MAX_BUNDLE_BYTES, answer_name, write_atomic
    from sync.protocol.canonical import canonical_json

    try:
        obj = read_json_file(args.file, limit=MAX_BUNDLE_BYTES)
    except ValueError as exc:
        return fail(str(exc), 2)
    try:
        answer = answer_bundle(_hub(args, ctx), obj)
    except BundleRefused as exc:
        return fail(f"{args.file}: {exc}", 1)
    path = Path(args.to) / answer_name(answer["dev_no"], obj["messages"])
    write_atomic(path, canonical_json(answer, strict=False))
    print(path, flush=True)
    return 0


def _operator_add(args: argparse.Namespace, ctx: Context) -> int:
    import getpass
    import sys

    from sync.hub.errors import HubError
    from sync.hub.operators import add_operator

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            return fail("the two passwords differ: nothing was changed", 2)
    hub = _hub(args, ctx)
    try:
        new = add_operator(hub.engine, hub.clock, args.name, password)
    except HubError as exc:
        return fail(str(exc), 2)
    emit_json({"operator": args.name, "added": new, "password_changed": not new})
    return 0


def _trace_conflicts(args: argparse.Namespace, ctx: Context) -> int:
    from datetime import date

    from sync.hub.trace_store import conflicts_of_day

    try:
        day = date.fromisoformat(args.date).isoformat()
    except ValueError:
        return fail(f"--date {args.date!r}: give yyyy-mm-dd", 2)
    hub = _hub(args, ctx)
    with hub.engine.connect() as conn:
        for row in conflicts_of_day(conn, day):
            emit_json(row)
    return 0


def _trace_partitions(args: argparse.Namespace, ctx: Context) -> int:
    from datetime import datetime

    from sync.hub import months

    if args.months < 1:
        return fail("--months: at least 1", 2)
    hub = _hub(args, ctx)
    today = datetime.fromtimestamp(hub.clock(), hub.tz).date()
    made = months.create_ahead(hub.engine, (months.TRACE_CODES,), today, args.months)
    emit_json({"partitions": made["trace_codes"]})
    return 0


def _partitions(args: argparse.Namespace, ctx: Context) -> int:
    from datetime import datetime

    from sync.hub import months

    if args.ahead < 0:
        return fail("--ahead: give 0 or more months", 2)
    hub = _hub(args, ctx)
    today = datetime.fromtimestamp(hub.clock(), hub.tz).date()
    tables = (months.ENTRIES, months.TRACE_CODES)
    emit_json(months.create_ahead(hub.engine, tables, today, args.ahead + 1))
    return 0
