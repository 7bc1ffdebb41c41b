"""What a test needs to talk to the terminal's web face as its real callers do: the HTTP API's
Bearer token (set in the test's `[web] api_token`) and a browser's CSRF token for its forms."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.conftest import free_port, wait_http

__all__ = ["API_TOKEN", "AUTH", "csrf_of", "served", "sign_in"]

API_TOKEN = "test-api-token-0123456789"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def csrf_of(page: str) -> str:
    """The CSRF token in a page's `<meta name="csrf-token">`."""
    found = re.search(r'<meta name="csrf-token" content="([^"]*)">', page)
    assert found is not None, page[:300]
    return found.group(1)


def sign_in(client: httpx.Client, operator: str, pin: str, next_: str = "/") -> httpx.Response:
    """Sign `client` in through the sign-in form; from then on its posts carry the session's
    CSRF token (a default header, as the page's script sends it)."""
    client.headers.pop("x-csrf-token", None)
    form = {
        "operator_id": operator,
        "pin": pin,
        "next": next_,
        "csrf": csrf_of(client.get("/login").text),
    }
    answer = client.post("/login", data=form)
    client.headers["x-csrf-token"] = csrf_of(client.get("/login").text)
    return answer


@contextmanager
def served(app: Any) -> Iterator[str]:
    """`app` served by a real uvicorn on a free loopback port, in a thread: its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/api/status")
        yield url
    finally:
        server.should_exit = True
        thread.join(30)
