"""The terminal's page in headless Chromium (Debian's, through Playwright), against `medpos run`
on the embedded default: virtual card on real pcscd/vpcd, virtual phone, local platform.

Screenshots go to tests/artifacts (ignored by git) to be looked at.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import HIGH_LIMITS, ROOT, free_port, medpos_process

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def terminal_url(make_config: Callable[..., Path]) -> Iterator[str]:
    port, hub_port = free_port(), free_port()
    config = make_config(
        risk=HIGH_LIMITS,
        web={"port": port},
        platform={"url": f"http://127.0.0.1:{hub_port}", "sync_interval_s": 0.5},
    )
    url = f"http://127.0.0.1:{port}"
    # four lines: the card, the platform, the camera, the URL
    with medpos_process(config, "run", banner=4, ready=url + "/api/status"):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: `make setup` (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_card_and_ecard_sales_on_the_page_at_1024x768(terminal_url: str, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.goto(terminal_url + "/")
    shot(page, "01-terminal")
    page.get_by_role("button", name="读卡并结算 Read the card and settle").click()
    status = page.get_by_role("status")
    status.wait_for()
    assert "card sale" in status.inner_text() and "committed" in status.inner_text()
    shot(page, "02-card-sale")
    # the virtual phone's code, read by the camera pipeline, names the person on the page
    for _ in range(100):
        page.goto(terminal_url + "/")
        if page.get_by_text("已识别 identified").count():
            break
        time.sleep(0.2)
    assert page.get_by_text("checked offline").count() == 1
    page.get_by_role("button", name="核验并结算 Verify and settle").click()
    status = page.get_by_role("status")
    status.wait_for()
    assert "e-card sale" in status.inner_text() and "committed" in status.inner_text()
    shot(page, "03-ecard-sale")
    # the local platform takes both sales: the header turns online
    for _ in range(100):
        page.goto(terminal_url + "/")
        if page.get_by_text("在线 online").count():
            break
        time.sleep(0.2)
    assert page.get_by_text("在线 online").count() == 1
    shot(page, "04-online")
    page.close()
