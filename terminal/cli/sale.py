"""`medpos checkout` (the headless sale, by claim, card or e-card code; or, with `--self-pay`, the
claim's basket sold without insurance) and `medpos refund` (of a sale, or of a self-pay sale when
the id is a self-pay id `<dev_no>-S<n>`).

Exit codes: 0 done; 1 a refused refund or an error of the terminal; 2 invalid input (the message
names the file and field), nothing written; 3 no scheme of the policy applies; 4 refused by an
offline risk limit or the hotlist (the refusal is printed as JSON). A traceability code refusal
(trace-codes.md) prints `{"error", "message", "line"}` and exits 2 (the input is wrong) or 4.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from terminal.cli._common import Context, emit_json, fail, open_service, read_json_file

__all__ = ["register"]

_BAD_INPUT = (
    "bad_basket",
    "bad_basket_id",
    "bad_tender",
    "cash_short",
)  # CheckoutError codes that exit 2


def register(sub: Any) -> None:
    p = sub.add_parser("checkout", help="settle and commit a sale (headless)")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--claim", metavar="C.json", help="person, visit and basket")
    who.add_argument("--card", action="store_true", help="identify by the card in the reader")
    who.add_argument("--ecard", metavar="TEXT", help="identify by an e-card code ('-': stdin)")
    p.add_argument("--basket", metavar="B.json", help="basket lines {code|barcode, qty, price?}")
    p.add_argument("--med-type", default="41", help="visit med_type with --card (default 41)")
    p.add_argument("--pin-stdin", action="store_true", help="read the card PIN from stdin")
    p.add_argument("--repeat", type=int, default=1, metavar="N", help="commit the sale N times")
    p.add_argument("--db", metavar="PATH", help="terminal database (default: from config)")
    p.add_argument("--operator", help="operator id recorded with the sale")
    p.add_argument("--payment-method", choices=["cash", "bank_card", "mobile"], default="cash")
    p.add_argument(
        "--tender",
        action="append",
        default=[],
        metavar="METHOD=AMOUNT",
        help="how the customer pays their part, METHOD cash, card or mobile, AMOUNT in yuan; "
        "repeat to split (--tender cash=20.00 --tender card=5.00); the parts add up to what the "
        "customer pays exactly (default: all by --payment-method)",
    )
    p.add_argument(
        "--cash-given", metavar="AMOUNT", help="the cash handed over: the change is printed"
    )
    p.add_argument(
        "--self-pay",
        action="store_true",
        help="sell the claim's basket without insurance (自费): the customer pays it all",
    )
    p.add_argument(
        "--basket-id",
        metavar="ID",
        help="the caller's basket id (with --claim or --self-pay): the same id again returns the "
        "first sale and sells nothing; with --repeat N the sales are ID-1 … ID-N",
    )
    p.set_defaults(func=_checkout)

    r = sub.add_parser("refund", help="reverse a committed sale, or refund a self-pay sale")
    r.add_argument("txn_id", metavar="TXN_ID", help="a txn_id, or a self-pay id <dev_no>-S<n>")
    r.add_argument("--reason", required=True)
    r.add_argument("--operator", required=True, help="the supervisor's operator id")
    r.add_argument("--db", metavar="PATH")
    r.set_defaults(func=_refund)


def _checkout(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.checkout.service import CheckoutRefused
    from terminal.checkout.tracing import TraceRefused
    from terminal.errors import CheckoutError, IdentityError, InvalidInputError, NoSchemeError

    if args.repeat < 1:
        return fail("--repeat must be at least 1", 2)
    if args.self_pay:
        return _self_pay(args, ctx)
    if args.basket_id and not args.claim:
        return fail("--basket-id is for --claim or --self-pay", 2)
    if (args.card or args.ecard) and not args.basket:
        return fail("--basket B.json is needed with --card or --ecard", 2)
    try:
        claim = read_json_file(args.claim) if args.claim else None
        basket = read_json_file(args.basket) if args.basket else None
    except ValueError as exc:
        return fail(str(exc), 2)
    service = open_service(ctx, args.db)
    try:
        tender = _tender(args)
        identity = _card_identity(args, service) if args.card else None
        if args.ecard:
            text = sys.stdin.readline().rstrip("\r\n") if args.ecard == "-" else args.ecard
            identity = service.verify_ecard(text).identity()
        for i in range(1, args.repeat + 1):
            if claim is not None:
                outcome = service.sell_claim(
                    claim,
                    source=args.claim,
                    operator=args.operator,
                    payment_method=args.payment_method,
                    basket_id=_nth_basket(args.basket_id, i, args.repeat),
                    tender=tender,
                )
            else:
                outcome = service.sell(
                    identity,
                    basket,
                    med_type=args.med_type,
                    operator=args.operator,
                    payment_method=args.payment_method,
                    source=args.basket,
                    tender=tender,
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
    except TraceRefused as exc:  # trace-codes.md "Refusal codes": {"error", "message", "line"}
        emit_json(exc.refusal.as_json())
        return fail(str(exc), exc.refusal.exit_code)
    except CheckoutError as exc:
        code = 2 if exc.code in _BAD_INPUT else 1
        emit_json({"error": exc.code, "message": str(exc)})
        return fail(str(exc), code)
    return 0


def _tender(args: argparse.Namespace) -> Any:
    """`--tender` and `--cash-given` as a `TenderRequest` (None: all by --payment-method)."""
    from terminal.checkout.tender import parse_tender_args

    if not args.tender and args.cash_given is None:
        return None
    return parse_tender_args(args.tender, args.cash_given)


def _nth_basket(basket_id: str | None, i: int, repeat: int) -> str | None:
    """The basket id of the `i`-th of `repeat` sales: the id itself for one sale."""
    if basket_id is None or repeat == 1:
        return basket_id
    return f"{basket_id}-{i}"


def _self_pay(args: argparse.Namespace, ctx: Context) -> int:
    """A self-pay sale of the claim's basket; its person, if any, is not used."""
    from terminal.checkout.selfpay import new_basket_id, sell_self_pay
    from terminal.checkout.tracing import TraceRefused
    from terminal.errors import CheckoutError, InvalidInputError

    if not args.self_pay:
        return fail("--basket-id is for --self-pay", 2)
    if not args.claim:
        return fail("--self-pay sells the basket of --claim C.json", 2)
    try:
        claim = read_json_file(args.claim)
    except ValueError as exc:
        return fail(str(exc), 2)
    basket: Any = claim.get("basket") if isinstance(claim, dict) else None
    service = open_service(ctx, args.db)
    try:
        tender = _tender(args)
        for _ in range(args.repeat):
            outcome = sell_self_pay(
                service,
                basket,  # checked by the pricing: a non-empty list of lines
                basket_id=args.basket_id or new_basket_id(),
                payment_method=args.payment_method,
                reason="requested",
                operator=args.operator,
                source=args.claim,
                tender=tender,
            )
            emit_json(outcome.line())
    except TraceRefused as exc:
        emit_json(exc.refusal.as_json())
        return fail(str(exc), exc.refusal.exit_code)
    except InvalidInputError as exc:
        return fail(str(exc), 2)
    except CheckoutError as exc:
        emit_json({"error": exc.code, "message": str(exc)})
        return fail(str(exc), 2 if exc.code in _BAD_INPUT else 1)
    return 0


def _card_identity(args: argparse.Namespace, service: Any) -> Any:
    """The verified identity of the card in the reader (card.md checks, through the PSAM)."""
    from drivers.card.errors import CardError
    from terminal.errors import IdentityError
    from terminal.identity.card import CARD_MESSAGES, identity_from_card, read_card_data

    pin = sys.stdin.readline().strip() if args.pin_stdin else None
    config = service.config
    if config.card.require_pin and not pin:
        raise IdentityError(
            "pin_required", "this terminal requires the card holder's PIN: give it with --pin-stdin"
        )
    try:
        read = read_card_data(config.card.reader, config.card.sam or None, pin=pin)
    except CardError as exc:
        raise IdentityError(exc.reason, CARD_MESSAGES.get(exc.reason, str(exc))) from exc
    return identity_from_card(read, service.hotlist(), service.local_now().date())


def _refund(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.checkout.selfpay import is_self_pay_id, refund_self_pay
    from terminal.errors import CheckoutError

    service = open_service(ctx, args.db)
    if is_self_pay_id(args.txn_id):
        try:
            refund = refund_self_pay(
                service, args.txn_id, reason=args.reason, operator=args.operator
            )
        except CheckoutError as exc:
            emit_json({"error": exc.code, "message": str(exc)})
            return fail(str(exc), 1)
        emit_json(refund.line())
        return 0
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
