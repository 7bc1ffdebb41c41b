"""Role checks as FastAPI dependencies: each yields the signed-in `Operator` or answers for the
route (docs/ui.md "Sign-in"):

- `PageUser`: a page or form; signed out → the sign-in page (303, back here after).
- `CounterUser`: a counter action; as `PageUser`, but a fragment request (the page's script,
  `x-fragment: 1`) gets 401, so the script reloads the page.
- `FragmentUser`: a fragment only (`GET /counter`): 401 when signed out.
- `SignedIn`: a file or data (`/day.csv`, `/camera.jpg`, receipts' ESC/POS): 401 when signed out.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote as urlquote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from terminal.checkout.operators import Operator
from terminal.web import i18n
from terminal.web.context import Web, is_fragment, web_of
from terminal.web.errors import Answer, back

__all__ = ["CounterUser", "FragmentUser", "PageUser", "SignedIn", "WebOf"]

WebOf = Annotated[Web, Depends(web_of)]


def _sign_in_first(request: Request) -> Answer:
    return Answer(RedirectResponse(f"/login?next={urlquote(request.url.path)}", 303))


def _may(web: Web, request: Request, op: Operator, role: str) -> Operator:
    if not op.may(role):
        web.use_language(request)
        raise Answer(back("/", err=i18n.gettext_("This needs a supervisor.")))
    return op


def page_user(request: Request, web: WebOf) -> Operator:
    op = web.operator_of(request)
    if op is None:
        raise _sign_in_first(request)
    return _may(web, request, op, "cashier")


def counter_user(request: Request, web: WebOf) -> Operator:
    op = web.operator_of(request)
    if op is None or not op.may("cashier"):
        if is_fragment(request):
            raise Answer(Response(status_code=401))
    if op is None:
        raise _sign_in_first(request)
    return _may(web, request, op, "cashier")


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


PageUser = Annotated[Operator, Depends(page_user)]
CounterUser = Annotated[Operator, Depends(counter_user)]
FragmentUser = Annotated[Operator, Depends(fragment_user)]
SignedIn = Annotated[Operator, Depends(signed_in)]
