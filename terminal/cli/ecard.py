"""`medpos ecard verify | mint | keygen` (ecard-qr.md "The commands")."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from terminal.cli._common import Context, emit_json, fail, read_json_file, read_stdin_text

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("ecard", help="e-card QR codes: verify, mint, keygen")
    ecard = p.add_subparsers(dest="ecard_command", metavar="ACTION", required=True)

    v = ecard.add_parser("verify", help="verify an e-card code offline; print the identity")
    v.add_argument("--trust-list", required=True, metavar="TL.json")
    v.add_argument("--hotlist", metavar="H.json")
    v.add_argument("--now", type=int, metavar="EPOCH", help="check against this time")
    v.add_argument("--replay-db", metavar="PATH", help="record the cti; refuse codes seen there")
    v.add_argument("--tolerance", type=int, metavar="S", help="clock tolerance (default: config)")
    what = v.add_mutually_exclusive_group(required=True)
    what.add_argument("text", nargs="?", metavar="TEXT", help="the ESC1: text ('-': stdin)")
    what.add_argument("--image", metavar="FILE", help="read the code from an image")
    v.set_defaults(func=_verify)

    m = ecard.add_parser("mint", help="issue a signed e-card code (demos, tests, platform)")
    m.add_argument("--key", required=True, metavar="KEY.pem", help="the issuer's private key")
    m.add_argument("--claims", required=True, metavar="CLAIMS.json", help="the ecard map (+ iss)")
    m.add_argument("--iat", type=int, metavar="EPOCH", help="issued at (default: now)")
    m.add_argument("--ttl", type=int, default=300, metavar="S", help="lifetime (default 300)")
    m.add_argument("--png", metavar="OUT.png", help="also write the QR code image")
    m.add_argument("--terminal", action="store_true", help="also draw the code on the terminal")
    m.set_defaults(func=_mint)

    k = ecard.add_parser("keygen", help="write an issuer key pair and its trust-list entry")
    k.add_argument("--out", default=".", metavar="DIR", help="directory (default: here)")
    k.add_argument("--name", default="issuer", help="file name stem (default: issuer)")
    k.add_argument("--alg", choices=["ES256", "EdDSA"], default="ES256")
    k.add_argument("--issuer", default="CN-330100", help="issuing region (default CN-330100)")
    k.add_argument("--not-before", type=int, metavar="EPOCH", help="default: now")
    k.add_argument("--days", type=int, default=730, help="validity in days (default 730)")
    k.set_defaults(func=_keygen)


def _error(code: str, message: str, exit_code: int = 1) -> int:
    emit_json({"error": code, "message": message})
    return exit_code


def _verify(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.identity.ecard import EcardError, TrustListError, parse_trust_list
    from terminal.ledger.replay import open_replay_db, record, seen

    try:
        trust = parse_trust_list(read_json_file(args.trust_list), args.trust_list)
        hotlist = read_json_file(args.hotlist) if args.hotlist else None
    except (ValueError, TrustListError) as exc:
        return _error("input", f"{exc}: give a trust list (or hotlist) as ecard-qr.md defines", 2)
    if hotlist is not None and not isinstance(hotlist, dict):
        return _error("input", f"{args.hotlist}: a hotlist is a JSON object with entries", 2)
    if args.image:
        text = _text_from_image(args.image)
        if isinstance(text, int):
            return text
    elif args.text == "-":
        try:
            text = read_stdin_text().rstrip("\r\n")
        except ValueError as exc:
            return _error("input", str(exc), 2)
    else:
        text = args.text
    now = args.now if args.now is not None else int(time.time())
    config = ctx.config.ecard
    tolerance = args.tolerance if args.tolerance is not None else config.clock_tolerance_s
    lifetime = config.max_lifetime_s
    conn = open_replay_db(Path(args.replay_db)) if args.replay_db else None
    try:
        from terminal.identity.ecard import verify_ecard

        try:
            verified = verify_ecard(
                text,
                trust,
                now=now,
                seen=(lambda cti: seen(conn, cti)) if conn is not None else None,
                hotlist=hotlist,
                tolerance_s=tolerance,
                max_lifetime_s=lifetime,
            )
        except EcardError as exc:
            return _error(exc.code, str(exc))
        if conn is not None and not record(conn, verified.cti, verified.exp):
            return _error("replay", "this code was already used on this terminal")
    finally:
        if conn is not None:
            conn.close()
    emit_json(verified.as_json())
    return 0


def _text_from_image(path: str) -> str | int:
    """The first QR code's text in an image, or the exit code after printing the error."""
    from drivers.qr.decode import QrError, decode_image_file
    from terminal.identity.ecard import ECARD_MESSAGES

    try:
        found = decode_image_file(path)
    except QrError as exc:
        return _error("input", str(exc), 2)
    if not found:
        return _error("no_code", f"{path}: {ECARD_MESSAGES['no_code']}")
    try:
        text: str = found[0].data.decode("utf-8")
        return text
    except UnicodeDecodeError:
        return _error("prefix", f"{path}: the QR code does not hold text: not an e-card code")


def _mint(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.errors import InvalidInputError
    from terminal.identity.issuer import load_issuer_key, mint_ecard

    if args.ttl < 1:
        return fail("--ttl must be at least 1 second", 2)
    try:
        key = load_issuer_key(Path(args.key).read_bytes(), args.key)
        claims = read_json_file(args.claims)
        text = mint_ecard(
            key,
            claims,
            iat=args.iat if args.iat is not None else int(time.time()),
            ttl=args.ttl,
            source=args.claims,
        )
    except OSError as exc:
        return fail(f"{args.key}: cannot be read: {exc.strerror}", 2)
    except (ValueError, InvalidInputError) as exc:
        return fail(str(exc), 2)
    print(text, flush=True)
    if args.png or args.terminal:
        import qrcode
        from qrcode.constants import ERROR_CORRECT_M

        qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=6, border=4)
        qr.add_data(text)
        qr.make(fit=True)
        if args.png:
            qr.make_image().save(args.png)
        if args.terminal:
            qr.print_ascii(out=sys.stderr, invert=True)
    return 0


def _keygen(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.identity.issuer import generate_issuer_key, trust_entry

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    key_path = out / f"{args.name}.pem"
    if key_path.exists():
        return fail(f"{key_path} exists: choose another --name or --out (keys are not replaced)", 2)
    key = generate_issuer_key(args.alg)
    start = args.not_before if args.not_before is not None else int(time.time())
    entry = trust_entry(key, args.issuer, start, start + args.days * 86400)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.pem())
    (out / f"{args.name}.entry.json").write_text(json.dumps(entry, indent=2) + "\n")
    trust = {"version": 1, "issued_at": start, "keys": [entry]}
    (out / f"{args.name}.trust-list.json").write_text(json.dumps(trust, indent=2) + "\n")
    emit_json({"key": str(key_path), "entry": entry})
    return 0
