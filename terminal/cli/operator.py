"""`medpos signin` and `medpos signout`: operators' sessions, in the audit log and, when the
terminal is enrolled and the platform answers, with the platform (9001 / 9002)."""

from __future__ import annotations

import argparse
from typing import Any

from terminal.cli._common import Context, emit_json, fail, open_service

__all__ = ["register"]


def register(sub: Any) -> None:
    for name, text in (("signin", "sign an operator in"), ("signout", "sign an operator out")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--operator", required=True, help="operator id")
        p.add_argument("--name", default="", help="operator name (sign-in)")
        p.add_argument("--db", metavar="PATH")
        p.set_defaults(func=_session)


def _session(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.errors import SyncError

    operator = args.operator.strip()
    if not operator:
        return fail("--operator must not be empty", 2)
    service = open_service(ctx, args.db)
    signing_in = args.command == "signin"
    key = f"sign_no/{operator}"
    sign_no = "" if signing_in else (service.ledger.get_meta(key) or "")
    platform = service.platform  # set when the terminal is enrolled
    answered = False
    if platform is not None:
        data = {"opter": operator, "opter_name": args.name}
        if not signing_in:
            data["sign_no"] = sign_no
        try:
            answer = platform.transport.call(
                platform._envelope("9001" if signing_in else "9002", data),
                timeout_s=ctx.config.platform.presettle_wait_s,
            )
            if answer.get("infcode") == 0:
                answered = True
                if signing_in:
                    sign_no = str(answer.get("output", {}).get("sign_no", ""))
        except SyncError:
            pass  # offline: the session is recorded here and the sales still carry the operator
    now = service.local_now()
    with service.ledger.write() as unit:
        if signing_in:
            unit.set_meta(key, sign_no)
        unit.audit(
            "sign_in" if signing_in else "sign_out",
            operator,
            {"name": args.name, "sign_no": sign_no, "platform": answered},
            now,
        )
    emit_json({"operator": operator, "sign_no": sign_no, "platform": answered})
    return 0
