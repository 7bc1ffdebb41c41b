"""The web face's own checks (docs/security.md "The terminal's web face"): the HTTP API's Bearer
token, the CSRF token and `Origin` of every state-changing form, and redirects that stay on this
site.

CSRF: a signed-in browser's token is its session's (`Session.csrf`); a signed-out browser (the
sign-in form) gets one bound to a `medpos_pre` cookie (an HMAC of it under this app's secret).
Pages put it in a hidden `csrf` input and in `<meta name="csrf-token">`; the page's script sends
it as `X-CSRF-Token`. A POST whose `Origin` (or, without one, `Referer`) names another origin is
refused before anything else; one with neither header must still carry the token, which only a
page of this site can read.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import PlainTextResponse

from terminal.config import Config
from terminal.web.errors import Answer
from terminal.web.sessions import same_token

__all__ = [
    "API_TOKEN_FILE",
    "demo_token",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "PRE_COOKIE",
    "bearer_header_ok",
    "bearer_ok",
    "check_origin",
    "load_api_token",
    "own_path",
    "own_referer",
    "pre_csrf",
]

API_TOKEN_FILE = "api-token"  # noqa: S105 - a file name, not a secret
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
PRE_COOKIE = "medpos_pre"


def load_api_token(config: Config) -> tuple[str, Path | None]:
    """(the API token, the file it is kept in): `[web] api_token` when set; on the demo default
    (`[terminal] demo = true`) one generated into `<data_dir>/api-token` (mode 0600) on the first
    start; else ("", None): the HTTP sale is off."""
    return demo_token(config, config.web.api_token, API_TOKEN_FILE)


def demo_token(config: Config, configured: str, file_name: str) -> tuple[str, Path | None]:
    """(a bearer token, the file it is kept in): `configured` when set; on the demo default one
    generated into `<data_dir>/<file_name>` (mode 0600) on the first start and read back after;
    else ("", None)."""
    if configured:
        return configured, None
    if not config.terminal.demo:
        return "", None
    path = config.data_dir / file_name
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        text = ""
    if not text:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text + "\n")
    return text, path


def bearer_ok(request: Request, token: str) -> bool:
    """The request carries `Authorization: Bearer <token>` (never true without a token)."""
    return bearer_header_ok(request.headers.get("authorization", ""), token)


def bearer_header_ok(header: str, token: str) -> bool:
    """An `Authorization` header's value is `Bearer <token>` (never true without a token)."""
    scheme, _, given = header.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and same_token(given.strip(), token)


def own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', '')}".lower()


def check_origin(request: Request) -> None:
    """Refuse (403) a request whose `Origin`, or without one `Referer`, is another site's."""
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if referer is None:
            return  # no browser names none of them on a POST: the CSRF token decides
        split = urlsplit(referer)
        origin = f"{split.scheme}://{split.netloc}"
    if origin.lower() != own_origin(request):
        raise Answer(PlainTextResponse("refused: this form was sent from another site", 403))


def pre_csrf(secret: bytes, pre: str) -> str:
    """The CSRF token of a signed-out browser holding the `medpos_pre` cookie `pre`."""
    return hmac.new(secret, b"pre:" + pre.encode(), hashlib.sha256).hexdigest()


def own_path(target: str | None, fallback: str = "/") -> str:
    """`target` when it is a path of this site (`/…`, not `//host` nor `/\\host`, no scheme, no
    control characters); else `fallback`."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return fallback
    if any(ord(c) < 0x20 or c == "\\" for c in target):
        return fallback
    split = urlsplit(target)
    if split.scheme or split.netloc:
        return fallback
    return target


def own_referer(request: Request) -> str:
    """The page of this site the request came from (its `Referer`), else the counter `/`."""
    split = urlsplit(request.headers.get("referer") or "/")
    if split.netloc and split.netloc.lower() != request.headers.get("host", "").lower():
        return "/"
    return own_path(split.path + (f"?{split.query}" if split.query else ""))
