"""How an error reaches the person or program that asked, in one place.

- A page action that fails goes back where it came from with `?err=` (`back`), the refusal in the
  page's language when the catalogue has a sentence for its code (`explain`, `problem_text`).
- A role check that fails raises `Answer` with the response to send (the sign-in page, a 401 for
  a fragment, "needs a supervisor"); `answer_handler` sends it.
- The headless sale (`POST /api/checkout`) answers a status and a JSON body (`sale_problem`,
  `self_pay_problem`): bad input 422, a refusal 409, a ledger fault 503.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from terminal.checkout.service import CheckoutRefused
from terminal.checkout.tracing import TraceRefused
from terminal.errors import (
    CheckoutError,
    InvalidInputError,
    LedgerError,
    MedposError,
    NoSchemeError,
)
from terminal.web import i18n

__all__ = [
    "Answer",
    "answer_handler",
    "back",
    "explain",
    "problem_text",
    "sale_problem",
    "self_pay_problem",
]


class Answer(Exception):  # noqa: N818 - not an error: the response a dependency answers with
    """Raised by a dependency (a role check) to answer the request with `response` at once."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def answer_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Answer)  # noqa: S101 - registered for Answer only
    return exc.response


def back(path: str, msg: str = "", err: str = "") -> RedirectResponse:
    """A 303 to `path` (its own query kept) with `msg` and `err` for the page to show."""
    query = urlencode({k: v for k, v in (("msg", msg), ("err", err)) if v})
    split = urlsplit(path)
    base = split.path or "/"
    joined = "&".join(q for q in (split.query, query) if q)
    return RedirectResponse(f"{base}?{joined}" if joined else base, status_code=303)


def explain(code: str, message: str) -> str:
    """A refusal in the page's language: the translated sentence, else the original. A message
    naming a basket line (`line 3: …`, trace-codes.md) keeps that line in front of it."""
    key = f"problem:{code}"
    text = i18n.gettext_(key)
    if text == key:
        return message
    named = _LINE.match(message)
    if named is not None:
        return f"{i18n.gettext_('line %(line)s') % {'line': named.group(1)}}: {text}"
    return text


_LINE = re.compile(r"line (\d+): ")


def problem_text(exc: MedposError) -> str:
    """What a page says about `exc`: a checkout refusal explained, any other error as it is."""
    if isinstance(exc, CheckoutError):
        return explain(exc.code, str(exc))
    return str(exc)


def sale_problem(exc: MedposError) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of a headless insurance sale that failed with `exc`."""
    if isinstance(exc, InvalidInputError):
        return 422, {"error": "invalid_input", "message": str(exc)}
    if isinstance(exc, NoSchemeError):
        return 422, {"error": "no_scheme", "message": str(exc)}
    if isinstance(exc, CheckoutRefused):
        return 409, exc.refusal.as_json()
    if isinstance(exc, TraceRefused):  # trace-codes.md: the line it concerns; input wrong: 422
        return (422 if exc.refusal.exit_code == 2 else 409), exc.refusal.as_json()
    if isinstance(exc, CheckoutError) and exc.code == "bad_basket_id":
        return 422, {"error": "invalid_input", "message": str(exc)}
    if isinstance(exc, CheckoutError):
        return 409, {"error": exc.code, "message": str(exc)}
    if isinstance(exc, LedgerError):
        return 503, {"error": "ledger_error", "message": str(exc)}
    raise exc


def self_pay_problem(exc: MedposError) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of a headless self-pay sale that failed with `exc` (its refusals are
    all bad input: 422)."""
    if isinstance(exc, CheckoutError):
        return 422, {"error": exc.code, "message": str(exc)}
    if isinstance(exc, LedgerError):
        return 503, {"error": "ledger_error", "message": str(exc)}
    raise exc
