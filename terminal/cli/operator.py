"""`medpos signin`, `medpos signout` and `medpos operator add|list`: operators and their sessions,
in the audit log and, when the terminal is enrolled and the platform answers, with the platform
(9001 / 9002)."""

from __future__ import annotations

import argparse
import getpass
import os
from typing import Any

from terminal.cli._common import Context, emit_json, fail, open_service, open_terminal

__all__ = ["register"]


def register(sub: Any) -> None:
    for name, text in (("signin", "sign an operator in"), ("signout", "sign an operator out")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--operator", required=True, help="operator id")
        p.add_argument("--name", default="", help="operator name (sign-in)")
        p.add_argument("--db", metavar="PATH")
        p.set_defaults(func=_session)
    p = sub.add_parser("operator", help="add or list the terminal's operators")
    ops = p.add_subparsers(dest="operator_command", required=True)
    add = ops.add_parser(
        "add", help="add an operator, or replace one (PIN from MEDPOS_PIN or asked)"
    )
    add.add_argument("--id", required=True, help="operator id (letters and digits)")
    add.add_argument("--name", default="", help="the name shown on screens and receipts")
    add.add_argument("--role", required=True, choices=("cashier", "supervisor", "admin"))
    add.add_argument("--by", default="", help="who adds them (audited)")
    add.add_argument("--db", metavar="PATH")
    add.set_defaults(func=_add)
    lst = ops.add_parser("list", help="list the operators (never their PINs)")
    lst.add_argument("--db", metavar="PATH")
    lst.set_defaults(func=_list)


def _session(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.checkout.operators import sign_session

    operator = args.operator.strip()
    if not operator:
        return fail("--operator must not be empty", 2)
    terminal = open_terminal(ctx, args.db)
    signing_in = args.command == "signin"
    emit_json(sign_session(terminal.service, operator, args.name, signing_in, terminal.sync))
    return 0


def _add(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.checkout.operators import add_operator
    from terminal.errors import CheckoutError

    pin = os.environ.get("MEDPOS_PIN") or getpass.getpass("PIN (4 to 12 digits): ")
    service = open_service(ctx, args.db)
    try:
        op = add_operator(service, args.id, args.name, args.role, pin, actor=args.by or None)
    except CheckoutError as exc:
        return fail(str(exc), 2)
    emit_json({"id": op.id, "name": op.name, "role": op.role})
    return 0


def _list(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.checkout.operators import list_operators

    service = open_service(ctx, args.db)
    for op in list_operators(service):
        emit_json({"id": op.id, "name": op.name, "role": op.role})
    return 0
