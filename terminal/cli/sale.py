"""`medpos checkout` (the headless sale) and `medpos refund`.

Exit codes: 0 done; 1 a refused refund or an error of the terminal; 2 invalid input (the message
names the file and field), nothing written; 3 no scheme of the policy applies; 4 refused by an
offline risk limit or the hotlist (the refusal is printed as JSON).
"""

from __future__ import annotations

import argparse
from typing import Any

from terminal.cli._common import Context, emit_json, fail, open_service, read_json_file

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("checkout", help="settle and commit a sale (headless)")
    p.add_argument("--claim", metavar="C.json", required=True, help="person, visit and basket")
    p.add_argument("--repeat", type=int, default=1, metavar="N", help="commit the sale N times")
    p.add_argument("--db", metavar="PATH", help="terminal database (default: from config)")
    p.add_argument("--operator", help="operator id recorded with the sale")
    p.add_argument("--payment-method", choices=["cash", "bank_card", "mobile"], default="cash")
    p.set_defaults(func=_checkout)

    r = sub.add_parser("refund", help="reverse a committed sale")
    r.add_argument("txn_id", metavar="TXN_ID")
    r.add_argument("--reason", required=True)
    r.add_argument("--operator", required=True, help="the supervisor's operator id")
    r.add_argument("--db", metavar="PATH")
    r.set_defaults(func=_refund)


def _checkout(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.checkout.service import CheckoutRefused
    from terminal.errors import CheckoutError, IdentityError, InvalidInputError, NoSchemeError

    if args.repeat < 1:
        return fail("--repeat must be at least 1", 2)
    try:
        claim = read_json_file(args.claim)
    except ValueError as exc:
        return fail(str(exc), 2)
    service = open_service(ctx, args.db)
    try:
        for _ in range(args.repeat):
            outcome = service.sell_claim(
                claim,
                source=args.claim,
                operator=args.operator,
                payment_method=args.payment_method,
            )
            emit_json(outcome.line())
    except InvalidInputError as exc:
        return fail(str(exc), 2)
    except NoSchemeError as exc:
        return fail(f"no scheme applies: {exc}", 3)
    except CheckoutRefused as exc:
        emit_json(exc.refusal.as_json())
        return fail(exc.refusal.message, 4)
    except IdentityError as exc:
        emit_json({"error": exc.code, "message": str(exc)})
        return fail(str(exc), 4)
    except CheckoutError as exc:
        code = 2 if exc.code in ("bad_basket",) else 1
        emit_json({"error": exc.code, "message": str(exc)})
        return fail(str(exc), code)
    return 0


def _refund(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.errors import CheckoutError

    service = open_service(ctx, args.db)
    try:
        appended = service.refund(args.txn_id, reason=args.reason, operator=args.operator)
    except CheckoutError as exc:
        emit_json({"error": exc.code, "message": str(exc)})
        return fail(str(exc), 1)
    emit_json(
        {
            "txn_id": appended.txn_id,
            "seq": appended.seq,
            "hash": appended.hash,
            "orig_txn_id": args.txn_id,
        }
    )
    return 0
