"""The field page in Chromium at 800×480 with touch (issue 17): the persons cached, the bundle
buttons (export the outbox to a directory, import the platform's answer) and the status bar
saying when the last bundle was written and answered. A real hub on loopback answers the bundle."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from sync.hub.bundles import answer_bundle
from sync.protocol.bundle import write_atomic
from sync.protocol.canonical import canonical_json
from terminal.bootstrap import open_terminal
from terminal.checkout.operators import seed_demo_operators
from terminal.config import load_config
from terminal.demo.__main__ import main as write_demo
from terminal.web.app import Hooks, create_app
from tests.e2e.webauth import served
from tests.integration.sync.test_bundles import FIELD_RISK, A, Platform, ok
from tests.support.cli import in_process as medpos
from tests.ui.harness import CHROMIUM, shot

WIDTH, HEIGHT = 800, 480


def test_the_field_page_exports_a_bundle_and_imports_its_answer_at_800x480(
    make_config: Callable[..., Path], tmp_path: Path, clean_env: None
) -> None:
    demo = tmp_path / "demo"
    assert write_demo(["write", str(demo)]) == 0
    hub = Platform(str(tmp_path / "hub.db"))
    hub.hub.keygen()
    hub.hub.publish("policy", (demo / "policy.toml").read_text(encoding="utf-8"))
    hub.hub.publish("catalogue", json.loads((demo / "catalogue.json").read_text()))
    config = make_config(
        risk=FIELD_RISK,
        terminal={"dev_no": A},
        platform={"url": f"http://127.0.0.1:{hub.port}", "presettle_wait_s": 0.2},
    )
    with hub.up():
        ok(medpos(config, "enrol", "--code", hub.hub.enrol_code(A)))
    ok(medpos(config, "checkout", "--claim", str(demo / "claim-pharmacy.json")))  # offline
    service = open_terminal(load_config(config, env={}))
    seed_demo_operators(service)
    stick = tmp_path / "stick"
    stick.mkdir()
    try:
        with served(create_app(service, hooks=Hooks(), lock=threading.RLock())) as url:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                context = browser.new_context(
                    viewport={"width": WIDTH, "height": HEIGHT}, locale="zh-CN", has_touch=True
                )
                page = context.new_page()
                page.goto(url + "/login?next=/field")
                page.fill("input[name=operator_id]", "1001")
                page.fill("input[name=pin]", "1234")
                page.get_by_role("button", name="登录").tap()
                expect(page.get_by_role("heading", name="外出设备")).to_be_visible()
                expect(page.get_by_test_id("persons")).to_contain_text("张伟")

                page.fill("input[name=directory]", str(stick))
                export = page.get_by_role("button", name="将待上传交易导出为离线包")
                box = export.bounding_box()
                assert box is not None and box["x"] + box["width"] <= WIDTH
                export.tap()
                expect(page.locator(".flash.ok")).to_contain_text(str(stick))
                [bundle] = stick.glob("*.medpos.json")
                expect(page.get_by_test_id("bundle-status")).to_be_visible()

                answer = answer_bundle(hub.hub, json.loads(bundle.read_bytes()))
                answer_path = stick / "answer.medpos-acks.json"
                write_atomic(answer_path, canonical_json(answer, strict=False))
                page.fill("input[name=file]", str(answer_path))
                page.get_by_role("button", name="导入平台回执").tap()
                expect(page.locator(".flash.ok")).to_contain_text("1 笔交易已确认")
                expect(page.get_by_test_id("bundle-status")).to_contain_text("已回执")
                expect(page.get_by_test_id("queue")).to_have_text("0")
                shot(page, "field-800x480")
                browser.close()
    finally:
        service.ledger.close()
        hub.engine.dispose()
