"""The pages' role checks and sign-in, in process (no server, no browser): what a signed-out
request gets on each kind of route, and the PIN lockout as the sign-in page shows it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from terminal.bootstrap import open_terminal
from terminal.checkout.operators import seed_demo_operators
from terminal.config import load_config
from terminal.web.app import Hooks, create_app

NOW = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)


class _Clock:
    def now(self) -> datetime:
        return NOW


def csrf_of(page: str) -> str:
    """The CSRF token in a page's `<meta name="csrf-token">`."""
    found = re.search(r'<meta name="csrf-token" content="([^"]*)">', page)
    assert found is not None, page[:300]
    return found.group(1)


class Client:
    """The app in process (httpx over ASGI), one event loop per request; cookies kept."""

    def __init__(self, app: Any) -> None:
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return asyncio.run(self._client.get(path, **kw))

    def post(self, path: str, *, csrf: bool = True, **kw: Any) -> httpx.Response:
        """A form post; `csrf`: carrying this browser's CSRF token, as the pages' forms do."""
        if csrf:
            kw["headers"] = {"x-csrf-token": self.csrf(), **kw.get("headers", {})}
        return asyncio.run(self._client.post(path, **kw))

    def csrf(self) -> str:
        """The CSRF token the pages give this browser now (from the sign-in page's head)."""
        return csrf_of(self.get("/login").text)

    def close(self) -> None:
        asyncio.run(self._client.aclose())


@pytest.fixture
def client(make_config: Callable[..., Path], clean_env: None) -> Iterator[Client]:
    service = open_terminal(load_config(make_config()), clock=_Clock())
    seed_demo_operators(service)
    client = Client(create_app(service, hooks=Hooks()))
    yield client
    client.close()
    service.ledger.close()


def _sign_in(client: Client, operator: str = "1001", pin: str = "1234") -> str:
    answer = client.post("/login", data={"operator_id": operator, "pin": pin, "next": "/day"})
    assert answer.status_code == 303
    return str(answer.headers["location"])


def test_a_signed_out_page_goes_to_the_sign_in_page_and_back(client: Client) -> None:
    for path in ("/", "/day", "/refund"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == f"/login?next={path}"
    answer = client.post("/confirm", data={"basket_id": "b"}, headers={"x-fragment": "1"})
    assert answer.status_code == 303  # a form, even from the script
    assert answer.headers["location"] == "/login?next=/confirm"


def test_a_signed_out_fragment_or_file_gets_401(client: Client) -> None:
    assert client.get("/counter").status_code == 401
    assert client.post("/scan", data={"text": "x"}, headers={"x-fragment": "1"}).status_code == 401
    plain = client.post("/scan", data={"text": "x"})
    assert plain.status_code == 303 and plain.headers["location"] == "/login?next=/scan"
    search = client.get("/search", params={"q": "amxl"})
    assert search.status_code == 401 and search.json() == []
    for path in ("/day.csv", "/camera.jpg"):
        assert client.get(path).status_code == 401
    assert client.get("/api/status").status_code == 200  # the HTTP API has no sign-in


def test_signed_in_the_counter_answers_fragments(client: Client) -> None:
    assert _sign_in(client) == "/day"
    assert client.get("/").status_code == 200
    scanned = client.post("/scan", data={"text": "6910100000012"}, headers={"x-fragment": "1"})
    assert scanned.status_code == 200 and "阿莫西林" in scanned.text
    assert client.get("/search", params={"q": "amxl"}).json()[0]["name"].startswith("阿莫西林")
    assert client.get("/camera.jpg").status_code == 204  # no camera
    bad = client.post("/line/7", data={"qty": "2"})
    assert bad.status_code == 303 and bad.headers["location"].startswith("/?err=")
    client.post("/logout")
    assert client.get("/counter").status_code == 401


def test_five_wrong_pins_lock_the_operator(client: Client) -> None:
    for _ in range(5):
        assert _sign_in(client, pin="0000").startswith("/login?err=")
    locked = _sign_in(client)  # the right PIN, too late
    assert locked.startswith("/login?err=") and client.get("/").status_code == 303
    assert _sign_in(client, operator="2001", pin="2468") == "/day"  # another id is not locked
