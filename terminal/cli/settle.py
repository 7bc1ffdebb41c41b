"""`medpos settle --policy P.toml --catalogue K.json --claim C.json` (settlement.md "The command").

Prints one JSON object and exits 0; invalid input: exit 2 with the file and field on stderr; no
scheme matches: exit 3 with the reason.
"""

from __future__ import annotations

import argparse
from typing import Any

from terminal.cli._common import Context, emit_json, fail, read_json_file, read_text_file

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("settle", help="compute the split of a claim (nothing is stored)")
    p.add_argument("--policy", required=True, metavar="P.toml")
    p.add_argument("--catalogue", required=True, metavar="K.json")
    p.add_argument("--claim", required=True, metavar="C.json")
    p.set_defaults(func=_settle)


def _settle(args: argparse.Namespace, ctx: Context) -> int:
    from terminal.errors import InvalidInputError, NoSchemeError
    from terminal.settlement import (
        parse_catalogue,
        parse_claim,
        parse_policy,
        result_to_json,
        settle,
    )

    try:
        policy = parse_policy(read_text_file(args.policy), args.policy)
        catalogue = parse_catalogue(read_json_file(args.catalogue), args.catalogue)
        claim = parse_claim(read_json_file(args.claim), args.claim)
        result = settle(policy, catalogue, claim)
    except (ValueError, InvalidInputError) as exc:
        return fail(str(exc), 2)
    except NoSchemeError as exc:
        return fail(f"no scheme matches: {exc}", 3)
    emit_json(result_to_json(result))
    return 0
