"""The web face under load an attacker controls, against a real server (uvicorn on loopback):
40 PIN guesses at once count one by one and lock the id; ten idle event streams of one session
are capped (the oldest closed) and hold no worker thread, so a sale still goes through."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from terminal.bootstrap import open_terminal
from terminal.checkout.operators import seed_demo_operators
from terminal.checkout.service import CheckoutService
from terminal.config import load_config
from terminal.demo import demo_claim
from terminal.web.app import Hooks, create_app
from terminal.web.routes.events import STREAMS_PER_SESSION
from tests.conftest import HIGH_LIMITS
from tests.e2e.webauth import API_TOKEN, AUTH, csrf_of, served, sign_in

SUPERVISOR = ("2001", "2468")


@pytest.fixture
def service(make_config: Callable[..., Path], clean_env: None) -> Iterator[CheckoutService]:
    config = make_config(risk=HIGH_LIMITS, web={"api_token": API_TOKEN})
    service = open_terminal(load_config(config))
    seed_demo_operators(service)
    yield service
    service.ledger.close()


@pytest.fixture
def app_and_url(service: CheckoutService) -> Iterator[tuple[object, str]]:
    app = create_app(service, hooks=Hooks(), lock=threading.RLock())
    with served(app) as url:
        yield app, url


def _guess(url: str, pin: str) -> str:
    """One attacker's guess from a browser of its own: where the sign-in form sent it."""
    with httpx.Client(base_url=url, timeout=60) as client:
        token = csrf_of(client.get("/login").text)
        form = {"operator_id": SUPERVISOR[0], "pin": pin, "next": "/", "csrf": token}
        return str(client.post("/login", data=form).headers["location"])


def test_forty_parallel_pin_guesses_count_one_by_one_and_lock(
    service: CheckoutService, app_and_url: tuple[object, str]
) -> None:
    _, url = app_and_url
    guesses = [f"{n:04d}" for n in range(3000, 3039)] + [SUPERVISOR[1]]  # the right one last
    with ThreadPoolExecutor(len(guesses)) as pool:
        answers = list(pool.map(lambda pin: _guess(url, pin), guesses))
    assert all(a.startswith("/login?err=") for a in answers[:-1])
    assert answers[-1].startswith("/login?err=")  # the right PIN, after five wrong: locked
    checked = [e for e in service.ledger.audit_log(200) if e["detail"].get("code") == "bad_pin"]
    assert len(checked) == 5  # only five guesses were ever checked against the PIN
    assert _guess(url, SUPERVISOR[1]).startswith("/login?err=")


async def _streams(url: str, cookies: httpx.Cookies) -> tuple[int, int, int]:
    """Ten event streams of one session, opened one after another; then a sale over the API
    and a counter change. (streams that ended, streams told of the change, the sale's status)"""
    async with httpx.AsyncClient(base_url=url, cookies=cookies, timeout=60) as client:
        streams = []
        for _ in range(10):
            request = client.build_request("GET", "/events")
            response = await client.send(request, stream=True)
            assert response.status_code == 200
            lines = response.aiter_lines()
            assert (await anext(lines)).startswith("event: counter")  # the stream is open
            streams.append((response, lines))
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
        sale = await client.post(
            "/api/checkout", json=demo_claim("outpatient", today), headers=AUTH
        )
        token = csrf_of((await client.get("/login")).text)
        scanned = await client.post(
            "/scan", data={"text": "6910100000012"}, headers={"x-csrf-token": token}
        )
        assert scanned.status_code == 303

        async def outcome(lines: object) -> str:
            async for line in lines:  # type: ignore[attr-defined]
                if line.startswith("event: counter"):
                    return "told"
            return "ended"

        results = await asyncio.wait_for(
            asyncio.gather(*(outcome(lines) for _, lines in streams)), 60
        )
        for response, _ in streams:
            await response.aclose()
        return results.count("ended"), results.count("told"), sale.status_code


def test_idle_event_streams_are_capped_per_session_and_do_not_hold_up_a_sale(
    service: CheckoutService, app_and_url: tuple[object, str]
) -> None:
    _, url = app_and_url
    with httpx.Client(base_url=url, timeout=30) as browser:
        assert sign_in(browser, "1001", "1234").status_code == 303
        cookies = browser.cookies
    ended, told, sale = asyncio.run(_streams(url, cookies))
    assert sale == 200 and service.ledger.head()[0] == 1
    assert (ended, told) == (10 - STREAMS_PER_SESSION, STREAMS_PER_SESSION)
