"""The browser of the page scenarios: Debian's Chromium through Playwright, one page per module
at 1024×768 in Chinese, on that module's `terminal`; `touch`, a small touch screen's context."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.ui.harness import CHROMIUM, Terminal


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: `make setup` (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(browser: Browser, terminal: Terminal) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture(scope="module")
def touch(browser: Browser) -> Iterator[BrowserContext]:
    """A touch screen: taps, no mouse, no hover."""
    context = browser.new_context(
        viewport={"width": 800, "height": 480}, has_touch=True, is_mobile=True, locale="zh-CN"
    )
    yield context
    context.close()
