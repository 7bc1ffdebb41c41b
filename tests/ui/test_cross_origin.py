"""A web page of another origin, opened in the counter PC's browser while a cashier is signed in,
tries to sell: headless Chromium (Debian's, through Playwright) loads an attack page from a
second local HTTP server. Both servers are on 127.0.0.1, so the browser counts them as the same
site and sends the terminal's SameSite cookie along: only the CSRF token, the `Origin` check and
the API's Bearer token and JSON-only body stand between the page and a sale."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from terminal.bootstrap import open_terminal
from terminal.checkout.operators import seed_demo_operators
from terminal.checkout.service import CheckoutService
from terminal.config import load_config
from terminal.demo import demo_claim
from terminal.web.app import Hooks, create_app
from tests.conftest import HIGH_LIMITS
from tests.e2e.webauth import API_TOKEN, served

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _attack_pages(terminal: str) -> dict[str, str]:
    """The attacker's pages: each posts a form to the terminal as soon as it loads."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    claim = json.dumps(demo_claim("outpatient", today), ensure_ascii=False)
    # a text/plain form sends `name=value`: a name that opens the JSON and a value closing it
    name, value = claim[:-1] + ',"pad":"', '"}'
    auto = "<script>document.forms[0].submit()</script>"
    return {
        "/scan.html": (
            f'<form method="post" action="{terminal}/scan">'
            '<input name="text" value="6910100000012"></form>' + auto
        ),
        "/api.html": (
            f'<form method="post" action="{terminal}/api/checkout" enctype="text/plain">'
            f"<input name='{name.replace(chr(39), '&#39;')}' value='{value}'></form>" + auto
        ),
    }


class _Attacker(BaseHTTPRequestHandler):
    pages: dict[str, str] = {}

    def do_GET(self) -> None:  # noqa: N802 - the http.server's name
        body = self.pages.get(self.path, "").encode()
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service(make_config: Callable[..., Path], clean_env: None) -> Iterator[CheckoutService]:
    config = make_config(risk=HIGH_LIMITS, web={"api_token": API_TOKEN})
    service = open_terminal(load_config(config))
    seed_demo_operators(service)
    yield service
    service.ledger.close()


@pytest.fixture
def terminal(service: CheckoutService) -> Iterator[str]:
    with served(create_app(service, hooks=Hooks(), lock=threading.RLock())) as url:
        yield url


@pytest.fixture
def attacker(terminal: str) -> Iterator[str]:
    handler = type("Attacker", (_Attacker,), {"pages": _attack_pages(terminal)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def page() -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: `make setup` (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.set_default_timeout(20_000)
        yield page
        browser.close()


def _sign_in_at_the_counter(page: Page, terminal: str) -> None:
    page.goto(terminal + "/")
    page.fill("input[name=operator_id]", "1001")
    page.fill("input[name=pin]", "1234")
    page.keyboard.press("Enter")
    page.wait_for_selector("#scan")


def test_a_cross_origin_counter_form_is_refused(page: Page, terminal: str, attacker: str) -> None:
    _sign_in_at_the_counter(page, terminal)
    with page.expect_response(terminal + "/scan") as scan:
        page.goto(attacker + "/scan.html")
    assert scan.value.status == 403
    counter = page.context.request.get(terminal + "/counter").text()
    assert "阿莫西林" not in counter  # nothing reached the basket


def test_a_cross_origin_text_plain_post_to_the_api_sells_nothing(
    page: Page, terminal: str, attacker: str, service: CheckoutService
) -> None:
    _sign_in_at_the_counter(page, terminal)
    with page.expect_response(terminal + "/api/checkout") as sale:
        page.goto(attacker + "/api.html")
    assert sale.value.status in (401, 415), sale.value.text()
    assert httpx.get(terminal + "/api/status", timeout=10).json()["head_seq"] == 0
    assert service.ledger.head()[0] == 0
