"""A terminal whose platform's chain head is ahead of its own (`rolled_back`) says so where the
cashier and the HIS look: `/api/status` and the status bar of every page."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx

from terminal.bootstrap import open_terminal
from terminal.config import load_config
from terminal.demo import demo_claim
from terminal.web.app import Hooks, create_app
from tests.conftest import HIGH_LIMITS


def _get(app: object, path: str) -> httpx.Response:
    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.get(path)

    return asyncio.run(get())


def test_rolled_back_shows_in_the_api_status_and_the_status_bar(
    make_config: Callable[..., Path], clean_env: None
) -> None:
    service = open_terminal(load_config(make_config(risk=HIGH_LIMITS)))
    try:
        service.sell_claim(demo_claim("pharmacy", service.local_now().date()))
        app = create_app(service, hooks=Hooks())
        assert _get(app, "/api/status").json()["rolled_back"] is None
        assert 'data-testid="rolled_back"' not in _get(app, "/login").text

        with service.ledger.write() as unit:  # the platform acknowledged three entries
            unit.set_platform_head({"seq": 3, "hash": "ab" * 32})
            unit.commit()
        status = _get(app, "/api/status").json()
        assert status["rolled_back"]["platform"] == {"seq": 3, "hash": "ab" * 32}
        assert status["rolled_back"]["local"]["seq"] == 1
        page = _get(app, "/login").text
        assert 'data-testid="rolled_back"' in page and "(#1 / #3)" in page
    finally:
        service.ledger.close()
