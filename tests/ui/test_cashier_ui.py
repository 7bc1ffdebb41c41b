"""The cashier and supervisor pages in headless Chromium (Debian's, through Playwright), against
`medpos run` on the embedded default: the virtual card on real pcscd/vpcd, the virtual phone
read by the camera pipeline, the local platform (a real hub process), receipts to files.

The tests share one terminal and run in order, as one working day at a counter: sign-in, a card
sale, a self-pay sale (nobody identified, so no insurance), a basket parked and recalled, the
counter at each screen size and on a small touch screen (taps only), an e-card sale, the platform
gone (offline sale, a limit refusal and its override), the platform back (sync now), a refund,
day-end.
Screenshots go to tests/artifacts (ignored by git).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.conftest import HIGH_LIMITS, free_port, medpos_process, write_config
from tests.ui.harness import (
    BARCODES,
    CASHIER,
    SUPERVISOR,
    Terminal,
    form_post,
    hover_rules,
    identify_by_card,
    in_view,
    insert_card,
    reachable,
    scan,
    shot,
    small_targets,
    tap_digits,
)


@pytest.fixture(scope="module")
def terminal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Terminal]:
    port, hub_port = free_port(), free_port()
    config = write_config(
        tmp_path_factory.mktemp("counter") / "config.toml",
        {
            # offline, the fund may pay at most 20.00 per sale: the refusal a supervisor overrides
            "risk": {**HIGH_LIMITS, "offline_max_fund_per_sale": "20.00"},
            "web": {"port": port},
            "platform": {"url": f"http://127.0.0.1:{hub_port}", "sync_interval_s": 600.0},
        },
    )
    url = f"http://127.0.0.1:{port}"
    term = Terminal(url, config, hub_port)
    with medpos_process(config, "run", banner=4, ready=url + "/api/status"):
        yield term
        if term.hub is not None:
            term.hub.terminate()
            term.hub.wait(10)


def test_sign_in_refuses_a_wrong_pin_and_speaks_english_on_request(
    page: Page, terminal: Terminal
) -> None:
    page.goto(terminal.url + "/")
    expect(page).to_have_url(terminal.url + "/login?next=/")
    shot(page, "01-sign-in")
    page.fill("input[name=operator_id]", CASHIER[0])
    page.fill("input[name=pin]", "0000")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("工号或密码错误")
    page.fill("input[name=operator_id]", CASHIER[0])
    page.fill("input[name=pin]", CASHIER[1])
    page.keyboard.press("Enter")
    expect(page.locator(".who")).to_contain_text("王芳")
    expect(page.locator("#h-settle")).to_contain_text("预结算")
    page.click("text=English")
    expect(page.locator("#h-settle")).to_contain_text("Pre-settlement")
    shot(page, "02-counter-english")
    page.click("text=中文")
    expect(page.locator("#h-settle")).to_contain_text("预结算")


def test_card_sale_of_three_scanned_items_takes_the_scans_plus_one_key(
    page: Page, terminal: Terminal
) -> None:
    insert_card(page, terminal, 0)
    page.goto(terminal.url + "/")
    person = page.get_by_test_id("person")
    expect(person).to_contain_text("张伟")
    expect(person).to_contain_text("社保卡识别")
    before = terminal.status()["head_seq"]
    for code in BARCODES:  # keystrokes: one scan per item ...
        scan(page, code)
    expect(page.get_by_test_id("lines").locator("tbody tr")).to_have_count(3)
    expect(page.get_by_test_id("presettlement")).to_be_visible()
    shot(page, "03-card-presettlement")
    page.keyboard.press("Enter")  # ... and one Enter on the empty field confirms
    sale = page.get_by_test_id("last-sale")
    expect(sale).to_contain_text("结算成功")
    expect(sale).to_contain_text("小票已打印")
    shot(page, "04-card-committed")
    assert terminal.status()["head_seq"] == before + 1
    txn_id = sale.locator(".mono").first.inner_text().split(" ")[0]
    escpos = terminal.data / "receipts" / f"{txn_id}.escpos"
    assert escpos.exists() and txn_id.encode() in escpos.read_bytes()
    with page.expect_popup() as popup:
        page.get_by_test_id("receipt-link").click()
    receipt = popup.value
    expect(receipt.locator("body")).to_contain_text(txn_id)
    shot(receipt, "05-receipt")
    receipt.close()
    # a reload of the committed basket's form cannot sell twice
    page.reload()
    assert terminal.status()["head_seq"] == before + 1


def test_a_basket_nobody_is_identified_for_is_sold_as_self_pay_with_its_receipt(
    page: Page, terminal: Terminal
) -> None:
    form_post(page, terminal.url + "/demo/card", form={"action": "remove"})
    page.goto(terminal.url + "/")
    expect(page.get_by_test_id("card-slot")).to_contain_text("读卡器中无卡")  # the event is in
    expect(page.get_by_test_id("person")).to_have_count(0)
    before = terminal.status()
    scan(page, BARCODES[1])
    expect(page.get_by_test_id("lines").locator("tbody tr")).to_have_count(1)
    # nobody identified: no insurance sale, but the customer may pay it all
    expect(page.get_by_test_id("confirm")).to_have_count(0)
    button = page.get_by_test_id("self-pay-button")
    expect(button).to_have_text("自费结算（不使用医保）")
    shot(page, "05a-self-pay-offered")
    page.locator("#self-pay input[value=mobile]").check()
    expect(page.locator("#self-pay input[value=mobile]")).to_be_checked()
    basket = page.locator("#counter").get_attribute("data-basket") or ""
    button.click()
    sale = page.get_by_test_id("last-sale")
    expect(sale).to_contain_text("自费结算成功")
    expect(sale).to_contain_text("自费 — 未使用医保")
    expect(sale).to_contain_text("移动支付")
    expect(sale).to_contain_text("小票已打印")
    shot(page, "05b-self-pay-committed")
    self_pay_id = sale.locator(".mono").first.inner_text().strip()
    assert self_pay_id.endswith("-S1")
    escpos = terminal.data / "receipts" / f"{self_pay_id}.escpos"
    assert escpos.exists() and "未使用医保".encode("gb18030") in escpos.read_bytes()
    with page.expect_popup() as popup:
        sale.get_by_test_id("receipt-link").click()
    receipt = popup.value
    expect(receipt.locator("body")).to_contain_text("自费 — 未使用医保")
    expect(receipt.locator("body")).not_to_contain_text("统筹基金支付")
    shot(receipt, "05c-self-pay-receipt")
    receipt.close()
    # the same basket again (a double click, a reload) is the same sale, and insurance is untouched
    form: dict[str, str | float | bool] = {"basket_id": basket, "payment_method": "cash"}
    again = form_post(page, terminal.url + "/self-pay", form=form, headers={"X-Fragment": "1"})
    assert again.ok
    page.reload()
    expect(page.get_by_test_id("last-sale").locator(".mono").first).to_have_text(self_pay_id)
    after = terminal.status()  # (a background sync may only have emptied the outbox meanwhile)
    assert after["head_seq"] == before["head_seq"] and after["outbox"] <= before["outbox"]


def test_confirming_the_same_basket_twice_makes_one_sale(page: Page, terminal: Terminal) -> None:
    insert_card(page, terminal, 1)
    page.goto(terminal.url + "/")
    expect(page.get_by_test_id("person")).to_be_visible()
    scan(page, BARCODES[0])
    expect(page.get_by_test_id("presettlement")).to_be_visible()
    basket = page.locator("#counter").get_attribute("data-basket")
    before = terminal.status()["head_seq"]
    form: dict[str, str | float | bool] = {"basket_id": basket or "", "payment_method": "mobile"}
    first = form_post(page, terminal.url + "/confirm", form=form, headers={"X-Fragment": "1"})
    again = form_post(page, terminal.url + "/confirm", form=form, headers={"X-Fragment": "1"})
    assert first.ok and again.ok
    assert terminal.status()["head_seq"] == before + 1


# -- park and recall, screen sizes, touch (issues 13 and 17; docs/ui.md "Screen sizes") ---------

DESKTOP = ((800, 600), (1024, 768), (1366, 768))  # at 800×600 reachable; the others: no scrolling
TOUCH = ((800, 480), (1024, 600), (480, 800))  # the last, a tablet held upright: panels stacked


def test_a_parked_basket_is_recalled_identified_again_and_sold(
    page: Page, terminal: Terminal
) -> None:
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(terminal.url + "/")
    identify_by_card(page, terminal, 0, "张伟")
    scan(page, BARCODES[0])
    scan(page, BARCODES[2])
    expect(page.get_by_test_id("presettlement")).to_be_visible()
    page.keyboard.press("F7")  # park: the customer went to fetch something
    expect(page.get_by_test_id("parked").get_by_test_id("recall")).to_have_count(1)
    expect(page.get_by_test_id("lines")).to_have_count(0)
    shot(page, "14-park-parked")
    # the next customer is served meanwhile
    identify_by_card(page, terminal, 1, "李娜")
    scan(page, BARCODES[1])
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("last-sale")).to_contain_text("结算成功")
    before = terminal.status()["head_seq"]
    # the first customer is back: their lines come back, and they are identified again
    page.keyboard.press("F2")  # one basket parked: F2 recalls it
    expect(page.get_by_test_id("lines").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("recalled")).to_be_visible()
    expect(page.get_by_test_id("person")).to_have_count(0)  # 李娜's card is still in the reader
    expect(page.get_by_test_id("confirm")).to_have_count(0)
    expect(page.get_by_test_id("parked")).to_have_count(0)
    shot(page, "15-park-recalled")
    identify_by_card(page, terminal, 0, "张伟")
    expect(page.get_by_test_id("presettlement")).to_be_visible()
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("last-sale")).to_contain_text("结算成功")
    assert terminal.status()["head_seq"] == before + 1


def test_a_sale_fits_1024x768_and_1366x768_and_is_reachable_at_800x600(
    page: Page, terminal: Terminal
) -> None:
    for code in BARCODES:  # 张伟's card is still in the reader
        scan(page, code)
    expect(page.get_by_test_id("presettlement")).to_be_visible()
    must_see = {
        "total": page.get_by_test_id("presettlement").locator("tr").first,
        "customer pays": page.get_by_test_id("cash"),
        "confirm": page.get_by_test_id("confirm"),
        "scan field": page.locator("#scan"),
        "person": page.get_by_test_id("person"),
    }
    for width, height in DESKTOP:
        page.set_viewport_size({"width": width, "height": height})
        page.evaluate("scrollTo(0, 0)")
        shot(page, f"16-size-{width}x{height}")
        for name, element in must_see.items():
            seen = reachable(element) if width < 1024 else in_view(element)
            assert seen, f"{name} at {width}x{height}"
    # the camera's view folds away, and stays folded when the counter is redrawn
    page.locator("details.camera summary").click()
    scan(page, "*2")
    expect(page.get_by_test_id("lines").locator("input[name=qty]").last).to_have_value("2")
    expect(page.locator("details.camera")).not_to_have_attribute("open", "")
    page.locator("details.camera summary").click()
    form_post(page, terminal.url + "/void")


def test_a_sale_with_taps_only_on_a_small_touch_screen(
    touch: BrowserContext, terminal: Terminal
) -> None:
    tablet = touch.new_page()  # 800×480, touch
    tablet.goto(terminal.url + "/login")
    assert tablet.evaluate("matchMedia('(pointer: coarse) and (hover: none)').matches")
    keypad = tablet.get_by_test_id("keypad")
    assert in_view(keypad) and small_targets(tablet) == []
    tablet.locator("input[name=operator_id]").tap()
    tap_digits(tablet, CASHIER[0])
    keypad.locator("[data-kp=ok]").tap()  # on to the PIN
    tap_digits(tablet, CASHIER[1])
    expect(tablet.get_by_test_id("keypad-value")).to_have_text("••••")
    shot(tablet, "17-touch-sign-in")
    keypad.locator("[data-kp=ok]").tap()  # signs in
    expect(tablet.locator(".who")).to_contain_text("王芳")
    expect(tablet.get_by_test_id("person")).to_contain_text("张伟")  # the card in the reader
    tablet.locator("#scan").tap()  # a barcode keyed on the keypad
    expect(keypad).to_be_visible()
    assert reachable(keypad)  # docked to the viewport wherever the page is scrolled
    tap_digits(tablet, BARCODES[0])
    keypad.locator("[data-kp=ok]").tap()
    expect(tablet.get_by_test_id("lines").locator("tbody tr")).to_have_count(1)
    expect(keypad).to_be_hidden()
    tablet.locator("input[name=qty]").first.tap()  # the quantity, on the keypad
    tap_digits(tablet, "3")
    expect(keypad.get_by_test_id("keypad-for")).to_contain_text("数量 1")
    shot(tablet, "18-touch-keypad")
    keypad.locator("[data-kp=ok]").tap()
    total = tablet.get_by_test_id("presettlement").locator("tr").first
    expect(total).to_contain_text("25.50")  # 3 × 8.50, quoted again
    assert reachable(total) and reachable(tablet.get_by_test_id("confirm"))
    assert small_targets(tablet) == []
    tablet.get_by_test_id("confirm").tap()
    expect(tablet.get_by_test_id("last-sale")).to_contain_text("结算成功")
    shot(tablet, "19-touch-committed")
    tablet.close()


def test_touch_sizes_have_big_targets_no_hover_and_panels_that_stack(
    touch: BrowserContext, terminal: Terminal
) -> None:
    tablet = touch.new_page()  # signed in by the test before (the context's session)
    tablet.goto(terminal.url + "/")
    scan(tablet, BARCODES[1])
    expect(tablet.get_by_test_id("presettlement")).to_be_visible()
    assert hover_rules(tablet) == []
    for width, height in TOUCH:
        tablet.set_viewport_size({"width": width, "height": height})
        tablet.evaluate("scrollTo(0, 0)")
        shot(tablet, f"20-touch-{width}x{height}")
        small = small_targets(tablet)
        assert small == [], f"targets under 44 px at {width}x{height}: {small}"
        for element in (tablet.get_by_test_id("cash"), tablet.get_by_test_id("confirm")):
            assert reachable(element), f"at {width}x{height}"
    boxes = [
        tablet.locator(f"section.{p}").bounding_box() for p in ("identify", "basket", "settle")
    ]
    xs, ys = [b["x"] for b in boxes if b], [b["y"] for b in boxes if b]
    assert len(xs) == 3 and max(xs) - min(xs) < 1 and ys == sorted(ys)  # one column, in order
    form_post(tablet, terminal.url + "/void")
    tablet.close()


def test_ecard_sale_through_the_camera(page: Page, terminal: Terminal) -> None:
    form_post(page, terminal.url + "/demo/card", form={"action": "remove"})
    page.goto(terminal.url + "/")
    form_post(page, terminal.url + "/demo/phone", form={"person": "2"})
    person = page.get_by_test_id("person")
    expect(person).to_contain_text("医保电子凭证识别")
    shot(page, "06-ecard-identified")
    scan(page, BARCODES[1])
    expect(page.get_by_test_id("presettlement")).to_be_visible()
    page.locator("#scan").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("last-sale")).to_contain_text("结算成功")
    shot(page, "07-ecard-committed")


def test_offline_sale_limit_refusal_and_override_then_sync_when_the_platform_returns(
    page: Page, terminal: Terminal
) -> None:
    form_post(page, terminal.url + "/sync-now")  # everything so far reaches the platform
    assert terminal.status()["outbox"] == 0
    terminal.stop_hub()
    insert_card(page, terminal, 0)
    page.goto(terminal.url + "/")
    expect(page.get_by_test_id("person")).to_contain_text("张伟")
    scan(page, BARCODES[0])
    expect(page.get_by_test_id("offline-marker")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("last-sale")).to_contain_text("离线")
    offline_txn = page.get_by_test_id("last-sale").locator(".mono").first.inner_text()
    shot(page, "08-offline-committed")
    # a bigger basket passes the offline per-sale ceiling: refused, unless a supervisor approves
    insert_card(page, terminal, 0)
    page.goto(terminal.url + "/")
    expect(page.get_by_test_id("person")).to_contain_text("张伟")
    scan(page, BARCODES[2])
    scan(page, "*20")
    refusal = page.get_by_test_id("refusal")
    expect(refusal).to_contain_text("离线时单笔基金支付超过上限")
    for field in ("input[name=sup_id]", "input[name=sup_pin]", "text=授权并确认结算"):
        assert in_view(page.locator(field)), f"{field} below the fold at 1024x768 (issue 13)"
    shot(page, "09-limit-refusal")
    page.fill("input[name=sup_id]", CASHIER[0])  # a cashier cannot approve
    page.fill("input[name=sup_pin]", CASHIER[1])
    page.click("text=授权并确认结算")
    expect(page.locator("#counter .flash")).to_contain_text("此操作需要主管授权")
    page.fill("input[name=sup_id]", SUPERVISOR[0])
    page.fill("input[name=sup_pin]", SUPERVISOR[1])
    page.click("text=授权并确认结算")
    expect(page.get_by_test_id("last-sale").locator(".mono").first).not_to_have_text(offline_txn)
    assert terminal.status()["outbox"] == 2
    page.click("text=立即同步")  # the platform does not answer: the bar says so
    expect(page.get_by_test_id("offline")).to_be_visible()
    expect(page.get_by_test_id("queue")).to_have_text("2")
    # the platform comes back: "sync now" empties the queue
    terminal.start_hub()
    page.click("text=立即同步")
    expect(page.get_by_test_id("queue")).to_have_text("0")
    expect(page.get_by_test_id("online")).to_be_visible()
    shot(page, "10-synced")


def test_refund_needs_a_supervisor(page: Page, terminal: Terminal) -> None:
    page.goto(terminal.url + "/refund")
    shot(page, "11-refunds")
    page.locator("a", has_text="退费…").first.click()
    for field in ("input[name=reason]", "input[name=sup_pin]", "text=授权并退费"):
        assert in_view(page.locator(field)), f"{field} below the fold at 1024x768 (issue 13)"
    page.fill("input[name=reason]", "顾客退货")
    page.fill("input[name=sup_id]", SUPERVISOR[0])
    page.fill("input[name=sup_pin]", "1111")
    page.click("text=授权并退费")
    expect(page.get_by_role("alert")).to_contain_text("工号或密码错误")
    page.fill("input[name=reason]", "顾客退货")
    page.fill("input[name=sup_id]", SUPERVISOR[0])
    page.fill("input[name=sup_pin]", SUPERVISOR[1])
    page.click("text=授权并退费")
    expect(page.get_by_role("status")).to_contain_text("已退费")
    expect(page.get_by_test_id("sales").get_by_text("已退费")).to_have_count(1)
    shot(page, "12-refunded")


def test_the_self_pay_sale_is_refunded_by_a_supervisor_with_its_receipt(
    page: Page, terminal: Terminal
) -> None:
    page.goto(terminal.url + "/refund")
    self_pay = page.get_by_test_id("self-pay-sales")
    row = self_pay.locator("tbody tr", has_text="-S1")  # the self-pay sale made above
    expect(row).to_contain_text("移动支付")
    sale_id = row.locator(".mono").inner_text().strip()
    row.get_by_role("link", name="退费…").click()
    expect(page.get_by_text("全额退还顾客")).to_be_visible()
    page.fill("input[name=reason]", "顾客退货")
    page.fill("input[name=sup_id]", SUPERVISOR[0])
    page.fill("input[name=sup_pin]", SUPERVISOR[1])
    page.click("text=授权并退费")
    refund_id = sale_id.removesuffix("-S1") + "-S2"  # no other self-pay sale was made here
    expect(page.get_by_role("status")).to_contain_text(refund_id)
    expect(self_pay.get_by_text("已退费")).to_have_count(1)
    shot(page, "12a-self-pay-refunded")
    escpos = terminal.data / "receipts" / f"{refund_id}.escpos"
    assert escpos.exists() and "退费".encode("gb18030") in escpos.read_bytes()
    page.goto(terminal.url + f"/receipt/{refund_id}")
    body = page.locator("body")
    expect(body).to_contain_text("自费 — 未使用医保")
    expect(body).to_contain_text(sale_id)  # 原流水号
    expect(body).not_to_contain_text("统筹基金支付")
    shot(page, "12b-self-pay-refund-receipt")


def test_history_finds_the_card_sale_reprints_it_and_a_supervisor_refunds_part_of_it(
    page: Page, terminal: Terminal
) -> None:
    insert_card(page, terminal, 0)  # a card sale of two items, the page's usual way
    page.goto(terminal.url + "/")
    expect(page.get_by_test_id("person")).to_contain_text("张伟")
    for code in BARCODES[:2]:
        scan(page, code)
    # both lines on screen: an Enter while a scan is still on its way confirms nothing
    expect(page.get_by_test_id("lines").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("presettlement")).to_be_visible()
    page.keyboard.press("Enter")
    sale = page.get_by_test_id("last-sale")
    expect(sale).to_contain_text("结算成功")
    txn_id = sale.locator(".mono").first.inner_text().split(" ")[0]
    page.goto(terminal.url + "/history")
    page.fill("input[name=receipt]", txn_id.rsplit("-", 1)[1])  # its number after the dash
    page.get_by_test_id("history-find").get_by_role("button").click()
    rows = page.get_by_test_id("history").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("张伟")
    rows.locator("a").click()
    expect(page.get_by_test_id("sale-lines").locator("tbody tr")).to_have_count(2)
    page.get_by_test_id("reprint").click()
    expect(page.get_by_role("status")).to_contain_text("已重新打印小票")
    page.get_by_role("link", name="部分退费…").click()
    page.locator("input[name=back_qty]").first.fill("1")
    page.fill("input[name=reason]", "未拆封")
    page.fill("input[name=sup_id]", SUPERVISOR[0])
    page.fill("input[name=sup_pin]", SUPERVISOR[1])
    shot(page, "12c-partial-refund-form")
    page.click("text=批准部分退费")
    expect(page.get_by_role("status")).to_contain_text("部分退费")
    expect(page.get_by_test_id("sale-lines").locator("tbody tr")).to_have_count(2)  # the original's
    kept = page.get_by_test_id("partial-link").locator("a").inner_text().strip()
    page.get_by_test_id("partial-link").locator("a").click()
    expect(page.get_by_test_id("sale-lines").locator("tbody tr")).to_have_count(1)
    shot(page, "12d-kept-sale")
    pdf = page.request.get(terminal.url + f"/receipt/{kept}.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")


def test_day_end_totals_chart_export_reconciliation_and_closure(
    page: Page, terminal: Terminal
) -> None:
    page.goto(terminal.url + "/day")  # the day's figures are a supervisor's: sign in as one
    expect(page.get_by_role("alert")).to_contain_text("此操作需要主管权限")
    page.locator("form[action='/logout'] button").click()
    page.fill("input[name=operator_id]", SUPERVISOR[0])
    page.fill("input[name=pin]", SUPERVISOR[1])
    page.keyboard.press("Enter")
    expect(page.locator(".who")).to_contain_text("李强")
    page.goto(terminal.url + "/day")
    expect(page.get_by_test_id("totals")).to_be_visible()
    expect(page.get_by_test_id("chart").locator("rect").first).to_be_visible()
    href = page.get_by_test_id("csv").get_attribute("href")
    assert href is not None
    exported = page.request.get(terminal.url + href)
    rows = list(csv.DictReader(io.StringIO(exported.text().lstrip("\ufeff"))))
    insurance = [r for r in rows if r["kind"] in ("sale", "reversal")]
    assert len(insurance) == terminal.status()["head_seq"]
    # the refund above, and the reversal of the partial refund (its kept sale is a sale)
    assert sum(r["kind"] == "reversal" for r in rows) == 2
    self_pay = [r for r in rows if r not in insurance]  # the self-pay sale and its refund
    assert [r["kind"] for r in self_pay] == ["self_pay", "self_pay_refund"]
    assert self_pay[1]["psn_cash_pay"] == "-" + self_pay[0]["psn_cash_pay"]
    expect(page.get_by_test_id("self-pay-totals")).to_contain_text("0.00")  # sold, refunded
    page.click("text=同步并对账")
    expect(page.get_by_test_id("reconciled")).to_contain_text("一致")
    page.fill("input[name=sup_id]", SUPERVISOR[0])
    page.fill("input[name=sup_pin]", SUPERVISOR[1])
    page.click("button:has-text('日结')")
    expect(page.get_by_test_id("closure")).to_contain_text("2001")
    shot(page, "13-day-end")
