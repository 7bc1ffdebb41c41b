"""The fleet console against the real hub, in headless Chromium (docs/operations.md "Fleet
console"): an operator added by `medpos hub operator add` signs in, sees the terminals with their
heartbeats and alerts, the day's chart, switches to English, makes an enrolment code and
publishes a catalogue after its preview; a form without its token, or from another site, is
refused; a wrong password is told. The traceability conflicts, by day and then the day's, a page
at a time."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.integration.sync.conftest import FakeTerminal, Platform
from tests.support.cli import in_process
from tests.ui.harness import ARTIFACTS, CHROMIUM

PASSWORD = "correct horse battery"  # noqa: S105 - the test operator's


def sign_in(page: Any) -> None:
    """Sign in as the test operator on the sign-in form `page` shows."""
    page.fill("input[name=operator]", "ops")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button")
    expect(page.locator("h1")).to_have_text("终端")


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_an_operator_runs_the_fleet_from_the_console(
    platform: Platform,
    demo_dir: Path,
    sale_input: dict[str, Any],
    make_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    added = in_process(
        platform.config, "hub", "operator", "add", "--name", "ops", "--password-stdin",
        "--db", platform.db, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added.returncode == 0 and json.loads(added.stdout)["added"] is True, added.stderr
    short = in_process(
        platform.config, "hub", "operator", "add", "--name", "x", "--password-stdin",
        "--db", platform.db, stdin="short\n",
    )  # fmt: skip
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    # two terminals: one up to date, one whose sale has waited four days
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    beat = {"queue": 0, "parked": 0, "refdata": {"catalogue": 1}, "app_version": "0.1.0"}
    four_days = f"{now - timedelta(days=4):%Y-%m-%d %H:%M:%S}"
    late: dict[str, Any] = {"queue": 4, "oldest_unsynced_at": four_days}
    for dev_no, extra in (("H33010000001D0101", {}), ("H33010000001D0102", late)):
        device = FakeTerminal(platform, dev_no, sale_input)
        [sold] = device.post(device.envelope("2102", device.upload()))
        head = sold["output"]["chain_head"]
        [ok] = device.post(device.envelope("9201", beat | {"chain_head": head} | extra))
        assert ok["infcode"] == 0, ok

    url = platform.url + "/console"
    with httpx.Client(base_url=platform.url) as client:
        assert client.get("/console").headers["location"] == "/console/login"
        client.get("/console/login")  # the pre-session cookie
        refused = client.post("/console/login", data={"operator": "ops", "password": PASSWORD})
        assert refused.status_code == 403  # no token
    catalogue = json.loads((demo_dir / "catalogue.json").read_text())
    catalogue[0] = catalogue[0] | {"price": "9.90"}
    catalogue.append(catalogue[1] | {"code": "XTEST000001", "barcodes": []})
    upload = tmp_path / "catalogue.json"
    upload.write_text(json.dumps(catalogue, ensure_ascii=False))

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(locale="zh-CN")
        page.set_default_timeout(20_000)
        page.goto(url)
        page.fill("input[name=operator]", "ops")
        page.fill("input[name=password]", "not the password")
        page.click("button")
        expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
        sign_in(page)
        row = page.locator("tr[data-dev=H33010000001D0102]")
        expect(row.locator("[data-alert=deadline]")).to_have_text("超过上传期限")
        expect(row).to_contain_text(four_days)
        expect(page.locator("tr[data-dev=H33010000001D0101] .alert")).to_have_count(0)
        expect(page.locator("a[data-alert=deadline] strong")).to_have_text("1")
        page.click("text=English")
        page.click("text=Days")
        expect(page.locator("#chart rect")).not_to_have_count(0)
        expect(page.locator("#days tbody tr").first).to_contain_text("P33010000001")
        page.screenshot(path=str(ARTIFACTS / "console-days.png"), full_page=True)
        page.click("text=Enrolment codes")
        page.fill("input[name=dev_no]", "H33010000001D0200")
        page.fill("input[name=fixmedins_code]", "P33010000001")
        page.fill("input[name=fixmedins_name]", "测试药房")
        page.click("text=Make a code")
        code = page.locator("#made").inner_text()
        expect(page.locator("#codes")).to_contain_text(code)
        page.click("text=Publish reference data")
        page.select_option("select[name=kind]", "catalogue")
        page.set_input_files("input[name=file]", str(upload))
        page.click("text=Preview")
        expect(page.locator("[data-n=added]")).to_have_text("1")
        expect(page.locator("[data-n=changed]")).to_have_text("1")
        expect(page.locator("[data-n=removed]")).to_have_text("0")
        page.click("main button")
        expect(page.locator("#published")).to_contain_text("version 2")
        page.screenshot(path=str(ARTIFACTS / "console-published.png"), full_page=True)
        # a form posted from another site is refused, even with the page's token
        token = page.locator("meta[name=csrf-token]").get_attribute("content")
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        browser.close()
    forged = httpx.post(
        url + "/codes",
        data={"csrf": token, "dev_no": "X", "fixmedins_code": "X", "fixmedins_name": "X",
              "admvs": "330100"},
        cookies=cookies,
        headers={"origin": "http://evil.example"},
    )  # fmt: skip
    assert forged.status_code == 403
    assert platform.scalars("SELECT MAX(version) FROM refdata WHERE kind = 'catalogue'") == (2,)
    assert platform.scalars("SELECT COUNT(*) FROM enrol_codes WHERE dev_no = 'X'") == (0,)


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_the_traceability_conflicts_are_listed_by_day_a_page_at_a_time(
    platform: Platform,
) -> None:
    from sqlalchemy import insert

    from sync.hub import schema as t
    from sync.hub.db import open_engine

    added = in_process(
        platform.config, "hub", "operator", "add", "--name", "ops", "--password-stdin",
        "--db", platform.db, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr

    def conflict(day: str, n: int) -> dict[str, Any]:
        return {
            "code": f"8100000000000000{n:04d}",
            "second_txn_id": f"H33010000004D0001-{n}",
            "first_txn_id": f"H33010000003D0001-{n}",
            "first_fixmedins_code": "P33010000001",
            "first_dev_no": "H33010000003D0001",
            "second_fixmedins_code": "P33010000002",
            "second_dev_no": "H33010000004D0001",
            "hours_between": 2 if n % 10 == 0 else 30,
            "severity": "high" if n % 10 == 0 else "normal",
            "setl_date": day,
            "found_at": 1_796_000_000 + n,
        }

    rows = [conflict("2026-12-06", n) for n in range(1, 52)] + [conflict("2026-12-05", 99)]
    engine = open_engine(platform.db)
    try:
        with engine.begin() as conn:
            conn.execute(insert(t.trace_conflicts), rows)
    finally:
        engine.dispose()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(locale="zh-CN")
        page.set_default_timeout(20_000)
        page.goto(platform.url + "/console")
        sign_in(page)
        page.click("header >> text=追溯码冲突")
        days = page.locator("#conflict-days tbody tr")
        expect(days).to_have_count(2)
        expect(days.first.locator("td")).to_have_text(["2026-12-06", "51", "5", "51"])
        expect(days.nth(1)).to_contain_text("2026-12-05")
        page.click("text=2026-12-06")
        expect(page.locator("h1")).to_have_text("追溯码冲突 2026-12-06")
        expect(page.locator("#conflicts tbody tr")).to_have_count(50)
        expect(page.locator("#conflicts tbody tr").nth(9).locator("td").nth(1)).to_have_text("高")
        page.click("a[rel=next]")
        last = page.locator("#conflicts tbody tr")
        expect(last).to_have_count(1)
        expect(last).to_contain_text("81000000000000000051")
        expect(page.locator("a[rel=next]")).to_have_count(0)
        page.click("text=English")
        page.click("header >> text=Traceability conflicts")
        expect(page.locator("#conflict-days th").first).to_have_text("Day")
        page.screenshot(path=str(ARTIFACTS / "console-conflicts.png"), full_page=True)
        bad = page.goto(platform.url + "/console/conflicts?day=yesterday")
        assert bad is not None and bad.status == 400
        expect(page.locator("body")).to_contain_text("give yyyy-mm-dd")
        browser.close()
