"""Tender and change at the counter, and the day's figures by payment method and cashier on the
day-end page (issue 13, "What a cashier's day needs"), in headless Chromium (Debian's, through
Playwright) against the terminal's app on a real ledger file. No card is needed: the basket is
sold as self-pay (nobody identified), whose whole total the customer pays."""

from __future__ import annotations

import csv
import io
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from terminal.bootstrap import open_terminal
from terminal.checkout.operators import seed_demo_operators
from terminal.checkout.service import CheckoutService
from terminal.config import load_config
from terminal.ledger import tenders_of
from terminal.web.app import Hooks, create_app
from tests.conftest import HIGH_LIMITS
from tests.e2e.webauth import served
from tests.ui.harness import BARCODES, CASHIER, SUPERVISOR, scan, shot

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def service(make_config: Callable[..., Path], clean_env: None) -> Iterator[CheckoutService]:
    service = open_terminal(
        load_config(make_config(risk=HIGH_LIMITS, till={"opening_float": "200.00"}))
    )
    seed_demo_operators(service)
    yield service
    service.ledger.close()


@pytest.fixture
def page(service: CheckoutService) -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: `make setup` (apt-get install chromium)")
    with served(create_app(service, hooks=Hooks(), lock=threading.RLock())) as url:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            context = browser.new_context(
                viewport={"width": 1024, "height": 768}, locale="zh-CN", base_url=url
            )
            page = context.new_page()
            page.set_default_timeout(20_000)
            yield page
            browser.close()


def _sign_in(page: Page, who: tuple[str, str]) -> None:
    page.goto("/login")
    page.fill("input[name=operator_id]", who[0])
    page.fill("input[name=pin]", who[1])
    page.keyboard.press("Enter")
    page.wait_for_selector(".who")


def test_cash_handed_over_gives_the_change_and_the_day_shows_it_by_method_and_cashier(
    page: Page, service: CheckoutService
) -> None:
    _sign_in(page, CASHIER)
    page.goto("/")
    scan(page, BARCODES[1])
    scan(page, BARCODES[2])
    expect(page.get_by_test_id("lines").locator("tbody tr")).to_have_count(2)  # both answered
    tender = page.get_by_test_id("tender")
    expect(tender).to_be_visible()
    due = int(tender.get_attribute("data-due") or "0")
    assert due > 500
    cash_part = due - 500
    page.get_by_test_id("split").click()  # 5.00 by bank card, the rest in cash
    page.get_by_test_id("card-amount").fill("5.00")
    page.get_by_test_id("cash-given").fill(_yuan(cash_part - 1))
    expect(page.get_by_test_id("change")).to_contain_text("还差 ¥0.01")
    page.get_by_test_id("self-pay-button").click()  # too little cash: refused, nothing sold
    expect(page.locator(".flash")).to_contain_text(f"实收现金（{_yuan(cash_part - 1)}）少于")
    page.get_by_test_id("card-amount").fill("5.00")
    page.get_by_test_id("cash-given").fill("100")
    expect(page.get_by_test_id("change")).to_contain_text(f"找零 ¥{_yuan(10000 - cash_part)}")
    shot(page, "tender-01-change")
    page.get_by_test_id("self-pay-button").click()
    paid = page.get_by_test_id("tender-paid")
    expect(paid).to_contain_text(f"现金 {_yuan(cash_part)} · 银行卡 5.00")
    expect(page.get_by_test_id("change-due")).to_have_text(f"找零 {_yuan(10000 - cash_part)}")
    sale_id = page.get_by_test_id("last-sale").locator(".mono").first.inner_text().strip()
    assert tenders_of(service.ledger, sale_id) == [
        ("cash", cash_part, 10000),
        ("bank_card", 500, None),
    ]

    page.locator("form[action='/logout'] button").click()
    _sign_in(page, SUPERVISOR)
    page.goto("/day")
    breakdown = page.get_by_test_id("breakdown")
    expect(breakdown.locator("tr[data-method=bank_card]")).to_contain_text("5.00")
    expect(breakdown.locator(f"tr[data-operator='{CASHIER[0]}']")).to_contain_text(_yuan(due))
    drawer = _yuan(20000 + cash_part)  # the opening float and the cash part
    expect(page.get_by_test_id("breakdown-drawer")).to_have_text(drawer)
    exported = page.request.get(page.get_by_test_id("csv").get_attribute("href") or "")
    [row] = [r for r in csv.DictReader(io.StringIO(exported.text().lstrip("\ufeff")))]
    assert (row["txn_id"], row["paid_cash"], row["paid_bank_card"]) == (
        sale_id,
        _yuan(cash_part),
        "5.00",
    )
    assert (row["paid_mobile"], row["cash_given"]) == ("", "100.00")
    page.get_by_test_id("x-report-button").click()
    expect(page.get_by_test_id("x-breakdown-drawer")).to_have_text(drawer)
    shot(page, "tender-02-day-breakdown")
    assert service.ledger.query("SELECT COUNT(*) FROM closures")[0][0] == 0  # X changed nothing


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"
