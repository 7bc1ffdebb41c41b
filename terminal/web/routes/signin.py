"""Sign-in, sign-out and the page language (docs/ui.md "Sign-in"): an operator signs in with
their PIN (five wrong PINs lock the id for five minutes); the session is a cookie."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from terminal.checkout.operators import sign_session
from terminal.errors import CheckoutError
from terminal.web import i18n
from terminal.web.deps import FormGuard, WebOf
from terminal.web.errors import back, explain
from terminal.web.guard import own_path, own_referer
from terminal.web.sessions import SESSION_COOKIE

__all__ = ["router"]

router = APIRouter()

_LANGUAGE_KEPT_S = 10 * 365 * 86400


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, web: WebOf, next: str = "/") -> HTMLResponse:  # noqa: A002
    return web.page(request, "login.html", next=own_path(next))


@router.post("/login")
def login(
    request: Request,
    web: WebOf,
    _: FormGuard,
    operator_id: str = Form(""),
    pin: str = Form(""),
    next: str = Form("/"),  # noqa: A002
) -> Response:
    web.use_language(request)
    try:
        op = web.approve(operator_id.strip(), pin, "cashier")
    except CheckoutError as exc:
        return back("/login", err=explain(exc.code, str(exc)))
    with web.lock:
        sign_session(web.service, op.id, op.name, True, web.hooks.platform)
    token = web.sessions.open(op)
    response = RedirectResponse(own_path(next), 303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict")
    return response


@router.post("/logout")
def logout(request: Request, web: WebOf, _: FormGuard) -> Response:
    op = web.sessions.close(request.cookies.get(SESSION_COOKIE, ""))
    if op is not None:
        with web.lock:
            web.counter.set_aside(op.id, reason="signed_out")  # parked, not handed on
            sign_session(web.service, op.id, op.name, False, web.hooks.platform)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{lang}")
def set_language(request: Request, lang: str) -> Response:
    response = RedirectResponse(own_referer(request), 303)
    if lang in i18n.LANGUAGES:
        response.set_cookie("lang", lang, samesite="strict", max_age=_LANGUAGE_KEPT_S)
    return response
