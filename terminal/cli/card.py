"""`medpos card read`, `medpos card watch` and `medpos vcard serve` (card.md)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import datetime
from typing import Any

from terminal.cli._common import Context, emit_json, fail, read_json_file

__all__ = ["register"]


def register(sub: Any) -> None:
    card = sub.add_parser("card", help="read the social security card in the reader")
    cs = card.add_subparsers(dest="card_command", metavar="ACTION", required=True)
    read = cs.add_parser("read", help="read, check and authenticate the card")
    read.add_argument("--reader", help="user-card reader name substring ([card] reader)")
    read.add_argument("--sam", help="PSAM reader name substring ([card] sam)")
    read.add_argument("--format", choices=["json", "basinfo"], default="json")
    read.add_argument("--hotlist", metavar="FILE", help="hotlist JSON (else the terminal's)")
    pin = read.add_mutually_exclusive_group()
    pin.add_argument("--pin", action="store_true", help="ask for the PIN (not echoed)")
    pin.add_argument("--pin-stdin", action="store_true", help="read the PIN from stdin")
    read.set_defaults(func=_read)
    watch = cs.add_parser("watch", help="print card insert/remove events as JSON lines")
    watch.add_argument("--reader", help="reader name substring (default: every reader)")
    watch.add_argument("--interval", type=float, default=0.25, help=argparse.SUPPRESS)
    watch.add_argument("--count", type=int, default=0, help="stop after N events (0: never)")
    watch.set_defaults(func=_watch)

    vcard = sub.add_parser("vcard", help="virtual cards on the vpcd driver")
    vs = vcard.add_subparsers(dest="vcard_command", metavar="ACTION", required=True)
    serve = vs.add_parser("serve", help="insert a virtual card or PSAM until interrupted")
    serve.add_argument("--card", required=True, metavar="FILE", help="card file (JSON)")
    serve.add_argument("--slot", type=int, choices=[0, 1], default=0)
    serve.add_argument("--port", type=int, help="vpcd port (default 35963 + slot)")
    serve.set_defaults(func=_serve)
    demo = vs.add_parser("demo", help="write the demo card set (card files) into a directory")
    demo.add_argument("dir", metavar="DIR")
    demo.set_defaults(func=_demo)


def _fields(read: Any, dev_no: str) -> dict[str, Any]:
    return {
        "issuing_region": read.issuing_region,
        "psn_cert": read.psn_cert,
        "card_no": read.card_no,
        "card_sn": read.card_sn,
        "psn_name": read.psn_name,
        "atr_hist": read.atr_hist,
        "spec_version": read.spec_version,
        "issue_date": read.issue_date,
        "expiry_date": read.expiry_date,
        "card_category": read.card_category,
        "init_org_code": read.init_org_code,
        "sex": read.sex,
        "ethnicity": read.ethnicity,
        "birthplace": read.birthplace,
        "birth_date": read.birth_date,
        "terminal_no": read.terminal_no,
        "dev_no": dev_no,
        "authenticated": read.authenticated,
    }


def _basinfo(f: dict[str, Any]) -> str:
    keys = (
        "issuing_region",
        "psn_cert",
        "card_no",
        "card_sn",
        "psn_name",
        "atr_hist",
        "spec_version",
        "issue_date",
        "expiry_date",
        "terminal_no",
        "dev_no",
    )
    return "|".join("" if f[k] is None else str(f[k]) for k in keys)


def _read(args: argparse.Namespace, ctx: Context) -> int:
    from zoneinfo import ZoneInfo

    from drivers.card.errors import CardError
    from terminal.errors import IdentityError
    from terminal.identity.card import identity_from_card, read_card_data

    config = ctx.config
    pin = None
    if args.pin_stdin:
        pin = sys.stdin.readline().strip()
    elif args.pin:
        pin = getpass.getpass("PIN: ")
    try:
        hotlist = read_json_file(args.hotlist) if args.hotlist else _terminal_hotlist(ctx)
    except ValueError as exc:
        return fail(str(exc), 2)
    reader = args.reader or config.card.reader
    sam = config.card.sam if args.sam is None else args.sam
    try:
        read = read_card_data(reader, sam or None, pin=pin)
    except CardError as exc:
        emit_json({"error": exc.reason, "message": str(exc)})
        return 1
    today = datetime.now(ZoneInfo(config.terminal.timezone)).date()
    fields = _fields(read, config.terminal.dev_no)
    if read.holder_read or read.spec_version != "3.00" or sam:
        try:
            identity_from_card(read, hotlist, today)
        except IdentityError as exc:
            if not (exc.code == "not_authenticated" and not sam):
                emit_json({"error": exc.code, "message": str(exc)})
                return 1
    print(_basinfo(fields) if args.format == "basinfo" else json.dumps(fields, ensure_ascii=False))
    return 0


def _terminal_hotlist(ctx: Context) -> dict[str, Any] | None:
    path = ctx.config.db_path
    if not path.exists():
        return None
    from terminal.ledger import SqliteLedger

    with SqliteLedger.open(path, dev_no=ctx.config.terminal.dev_no, signing=False) as ledger:
        held = ledger.get_refdata("hotlist")
        return json.loads(held.body) if held is not None else None


def _watch(args: argparse.Namespace, ctx: Context) -> int:
    from drivers.card.monitor import poll_events

    seen = 0
    for event in poll_events(args.reader, interval=args.interval):
        emit_json(event)
        seen += 1
        if args.count and seen >= args.count:
            break
    return 0


def _serve(args: argparse.Namespace, ctx: Context) -> int:
    from pathlib import Path

    from drivers.card.virtual import VpcdClient, load_card_file

    try:
        card = load_card_file(Path(args.card))
    except (OSError, ValueError, KeyError) as exc:
        return fail(f"{args.card}: not a card file ({exc}); see drivers/card/virtual/card.py", 2)
    port = args.port or 35963 + args.slot
    try:
        client = VpcdClient(card, port)
    except OSError as exc:
        return fail(
            f"cannot reach vpcd on port {port} ({exc}): is pcscd running with "
            "vsmartcard-vpcd installed?",
            1,
        )
    print(f"virtual card inserted in vpcd port {port}; Ctrl-C removes it", flush=True)
    try:
        client.run()
    except KeyboardInterrupt:
        client.close()
    return 0


def _demo(args: argparse.Namespace, ctx: Context) -> int:
    """Card files: every demo person, a 2.00 card, a counterfeit, an expired card and the PSAM."""
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from drivers.card.virtual.demo import psam_doc
    from terminal.demo import demo_people
    from terminal.demo.cards import demo_card_doc

    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    today = datetime.now(ZoneInfo(ctx.config.terminal.timezone)).date()
    people = demo_people(today)
    written = {"psam.json": psam_doc()}
    for i, person in enumerate(people):
        written[f"card-{person.card_no}.json"] = demo_card_doc(person, 0x10000001 + i, today)
    specials: dict[str, dict[str, Any]] = {
        "card-v2.json": {"version": "2.00"},
        "card-counterfeit.json": {"counterfeit": True},
        "card-expired.json": {"expired": True},
    }
    for name, changes in specials.items():
        written[name] = demo_card_doc(people[1], 0x1000F001, today, **changes)
    for name, doc in written.items():
        (out / name).write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(
        f"{len(written)} card files written to {out}: serve one with "
        f"`medpos vcard serve --card {out}/psam.json --slot 1` and a card on slot 0"
    )
    return 0
