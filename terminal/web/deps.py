"""Role checks as FastAPI dependencies: each yields the signed-in `Operator` or answers for the
route (docs/ui.md "Sign-in"), and checks the CSRF token of a POST (docs/security.md):

- `PageUser`: a page or form; signed out → the sign-in page (303, back here after).
- `CounterUser`: a counter action; as `PageUser`, but a fragment request (the page's script,
  `x-fragment: 1`) gets 401, so the script reloads the page.
- `FragmentUser`: a fragment or stream only (`GET /counter`, `/events`): 401 when signed out.
- `SignedIn`: a file or data (receipts' ESC/POS, `/camera.jpg`): 401 when signed out.
- `SupervisorPage`, `SupervisorData`: the day-end page and its CSV, for a supervisor.
- `FormGuard`: a form anybody may send (sign-in, sign-out, the demo hardware): its CSRF token.

Every router of the pages also checks a POST's `Origin` (`origin_guard`, installed by the app).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote as urlquote

from fastapi import Depends, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from terminal.checkout.operators import Operator
from terminal.web import i18n
from terminal.web.context import Web, is_fragment, web_of
from terminal.web.errors import Answer, back
from terminal.web.guard import CSRF_FIELD, CSRF_HEADER, check_origin
from terminal.web.sessions import same_token

__all__ = [
    "CounterUser",
    "FormGuard",
    "FragmentUser",
    "PageUser",
    "SignedIn",
    "SupervisorData",
    "SupervisorPage",
    "WebOf",
    "origin_guard",
]

WebOf = Annotated[Web, Depends(web_of)]


def _sign_in_first(request: Request) -> Answer:
    return Answer(RedirectResponse(f"/login?next={urlquote(request.url.path)}", 303))


def _may(web: Web, request: Request, op: Operator, role: str) -> Operator:
    if not op.may(role):
        web.use_language(request)
        raise Answer(back("/", err=i18n.gettext_("This needs a supervisor.")))
    return op


def origin_guard(request: Request) -> None:
    """A POST from another site's page is refused before anything else."""
    if request.method == "POST":
        check_origin(request)


async def _csrf(request: Request, web: Web) -> None:
    """A POST carries this browser's CSRF token (header or form field), else 403."""
    if request.method != "POST":
        return
    given = request.headers.get(CSRF_HEADER)
    if not given:
        field = (await request.form()).get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    if not same_token(given, web.csrf_of(request)):
        raise Answer(PlainTextResponse("refused: the form's CSRF token is missing or stale", 403))


def _page_user(request: Request, web: WebOf) -> Operator:
    op = web.operator_of(request)
    if op is None:
        raise _sign_in_first(request)
    return _may(web, request, op, "cashier")


def _counter_user(request: Request, web: WebOf) -> Operator:
    op = web.operator_of(request)
    if op is None or not op.may("cashier"):
        if is_fragment(request):
            raise Answer(Response(status_code=401))
    if op is None:
        raise _sign_in_first(request)
    return _may(web, request, op, "cashier")


def _supervisor_page(request: Request, web: WebOf) -> Operator:
    op = web.operator_of(request)
    if op is None:
        raise _sign_in_first(request)
    return _may(web, request, op, "supervisor")


# The role checks run in a worker thread (finding a session gone idle records its sign-out in
# the ledger); the CSRF check after them reads the form, in the event loop.


async def page_user(
    request: Request, web: WebOf, op: Annotated[Operator, Depends(_page_user)]
) -> Operator:
    await _csrf(request, web)
    return op


async def counter_user(
    request: Request, web: WebOf, op: Annotated[Operator, Depends(_counter_user)]
) -> Operator:
    await _csrf(request, web)
    return op


async def supervisor_page(
    request: Request, web: WebOf, op: Annotated[Operator, Depends(_supervisor_page)]
) -> Operator:
    await _csrf(request, web)
    return op


def fragment_user(request: Request, web: WebOf) -> Operator:
    op = web.operator_of(request)
    if op is None or not op.may("cashier"):
        raise Answer(Response(status_code=401))
    return op


def signed_in(request: Request, web: WebOf) -> Operator:
    op = web.operator_of(request)
    if op is None:
        raise Answer(Response(status_code=401))
    return op


def supervisor_data(request: Request, web: WebOf) -> Operator:
    op = web.operator_of(request)
    if op is None:
        raise Answer(Response(status_code=401))
    if not op.may("supervisor"):
        raise Answer(PlainTextResponse("this needs a supervisor", 403))
    return op


async def form_guard(request: Request, web: WebOf) -> None:
    await _csrf(request, web)


PageUser = Annotated[Operator, Depends(page_user)]
CounterUser = Annotated[Operator, Depends(counter_user)]
FragmentUser = Annotated[Operator, Depends(fragment_user)]
SignedIn = Annotated[Operator, Depends(signed_in)]
SupervisorPage = Annotated[Operator, Depends(supervisor_page)]
SupervisorData = Annotated[Operator, Depends(supervisor_data)]
FormGuard = Annotated[None, Depends(form_guard)]
