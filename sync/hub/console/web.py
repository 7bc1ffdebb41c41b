"""What every console page shares (docs/operations.md "Fleet console", docs/security.md): the
operator's session, CSRF tokens, the language and the templates.

Several hub processes serve one console, so nothing lives in a process: a session is a cookie
signed (HMAC-SHA256) with the console's key from the hub's database, naming the operator and
when it ends (8 h after sign-in); its CSRF token is an HMAC of its random id. The sign-in form's
token is bound to a `medpos_console_pre` cookie the same way (terminal/web/guard.py is the
model). A POST must carry the token (form field `csrf`) and, when the browser sends `Origin`
(or `Referer`), name this site. Cookies are HttpOnly, SameSite=Strict, and Secure over HTTPS.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.exc import IntegrityError

from sync.hub.console.i18n import LANGUAGES, translator
from sync.hub.console.queries import Limits, console_secret

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["Console", "Refused", "Session"]

SESSION_COOKIE = "medpos_console"
PRE_COOKIE = "medpos_console_pre"
SESSION_S = 8 * 3600
TEMPLATES = Path(__file__).parent / "templates"


class Refused(Exception):
    """A request the console refuses: its HTTP status and the reason shown."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True, slots=True)
class Session:
    operator: str
    sid: str
    ends: int


class Console:
    """The console over one `Hub`."""

    def __init__(self, hub: Any, *, limits: Callable[[float, Any], Limits] | None = None) -> None:
        self.hub = hub
        self._limits = limits or (lambda now, tz: Limits(now=now, tz=tz))
        self._secret: bytes | None = None

    @functools.cached_property
    def templates(self) -> Environment:
        """The pages' Jinja2 environment, made at the first page: a hub that only answers
        terminals never imports Jinja2."""
        from jinja2 import Environment, FileSystemLoader, select_autoescape

        return Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"])
        )

    def limits(self) -> Limits:
        return self._limits(self.hub.clock(), self.hub.tz)

    # -- keys, sessions and tokens ----------------------------------------------------------

    def secret(self) -> bytes:
        if self._secret is None:
            try:
                with self.hub.engine.begin() as conn:
                    text = console_secret(conn, lambda: secrets.token_hex(32))
            except IntegrityError:  # another process made it at the same moment: read theirs
                with self.hub.engine.begin() as conn:
                    text = console_secret(conn, lambda: secrets.token_hex(32))
            self._secret = bytes.fromhex(text)
        return self._secret

    def _mac(self, text: str) -> str:
        return hmac.new(self.secret(), text.encode(), hashlib.sha256).hexdigest()

    def new_session(self, operator: str) -> str:
        """The cookie value of a new session of `operator`."""
        body = {
            "op": operator,
            "sid": secrets.token_hex(16),
            "ends": int(self.hub.clock()) + SESSION_S,
        }
        payload = base64.urlsafe_b64encode(json.dumps(body).encode()).decode()
        return f"{payload}.{self._mac('session:' + payload)}"

    def session(self, request: Request) -> Session | None:
        """The signed-in operator's session, None when there is none (or it ended)."""
        value = request.cookies.get(SESSION_COOKIE, "")
        payload, _, mac = value.partition(".")
        if not payload or not hmac.compare_digest(mac, self._mac("session:" + payload)):
            return None
        body = json.loads(base64.urlsafe_b64decode(payload))
        if body["ends"] <= self.hub.clock():
            return None
        return Session(body["op"], body["sid"], body["ends"])

    def csrf(self, request: Request, session: Session | None) -> str:
        """The token this request's forms carry ("" before the pre cookie is set)."""
        if session is not None:
            return self._mac("csrf:" + session.sid)
        pre = request.cookies.get(PRE_COOKIE)
        return self._mac("pre:" + pre) if pre else ""

    def check_post(self, request: Request, form: Any, session: Session | None) -> None:
        """Refuse a POST from another origin or without this browser's token."""
        source = request.headers.get("origin") or request.headers.get("referer")
        if source and urlsplit(source).netloc != request.headers.get("host"):
            raise Refused(403, "a form from another site")
        token = str(form.get("csrf", ""))
        expected = self.csrf(request, session)
        if not expected or not hmac.compare_digest(token, expected):
            raise Refused(403, "the form's token is missing or stale: reload the page")

    def sign(self, text: str) -> str:
        """An HMAC of `text` under the console's key (a publish preview's document)."""
        return self._mac("doc:" + text)

    # -- pages ------------------------------------------------------------------------------

    def language(self, request: Request) -> str:
        lang = request.cookies.get("lang", "zh")
        return lang if lang in LANGUAGES else "zh"

    def page(
        self,
        request: Request,
        name: str,
        session: Session | None,
        http_status: int = 200,
        **ctx: Any,
    ) -> HTMLResponse:
        lang = self.language(request)
        pre = None
        if session is None and not request.cookies.get(PRE_COOKIE):
            pre = secrets.token_hex(16)
        csrf = self._mac("pre:" + pre) if pre else self.csrf(request, session)
        html = self.templates.get_template(name).render(
            _=translator(lang),
            lang=lang,
            csrf=csrf,
            operator=session.operator if session else None,
            path=request.url.path,
            **ctx,
        )
        response = HTMLResponse(html, http_status)
        if pre is not None:
            self.set_cookie(request, response, PRE_COOKIE, pre)
        return response

    def set_cookie(self, request: Request, response: Response, name: str, value: str) -> None:
        response.set_cookie(
            name,
            value,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/console",
        )
