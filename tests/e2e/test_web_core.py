"""The terminal's page and HTTP sale, served by `medpos serve` as a real process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from terminal.demo import demo_claim
from tests.conftest import HIGH_LIMITS, free_port, medpos_process


@pytest.fixture
def server(make_config: Callable[..., Path]) -> Iterator[str]:
    port = free_port()
    config = make_config(risk=HIGH_LIMITS, web={"port": port})
    url = f"http://127.0.0.1:{port}"
    with medpos_process(config, "serve", banner=2, ready=url + "/api/status") as banner:
        assert "camera: reading e-card codes from virtual phone" in banner[0], banner
        assert f"{url}/" in banner[1], banner
        yield url


def test_a_hospital_system_posts_a_claim_and_gets_the_committed_sale(server: str) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    claim = demo_claim("outpatient", today)
    done = httpx.post(server + "/api/checkout", json=claim, timeout=10)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["seq"] == 1 and set(body) == {"txn_id", "seq", "hash", "setlinfo"}
    claim["basket"][0]["qty"] = "-2"
    bad = httpx.post(server + "/api/checkout", json=claim, timeout=10)
    assert bad.status_code == 422
    assert "basket[0].qty" in bad.json()["message"]
    assert httpx.get(server + "/api/status", timeout=5).json()["outbox"] == 1


def test_the_page_sells_once_per_form_even_when_submitted_twice(server: str) -> None:
    page = httpx.get(server + "/", timeout=5).text
    assert "演示结算" in page and "no sales yet" in page
    token = page.split('name="token" value="')[1].split('"')[0]
    psn = page.split('<option value="')[1].split('"')[0]
    form = {"token": token, "psn_cert": psn, "kind": "pharmacy"}
    first = httpx.post(server + "/sale", data=form, timeout=10, follow_redirects=True)
    again = httpx.post(server + "/sale", data=form, timeout=10, follow_redirects=True)
    assert "committed" in first.text and "committed" in again.text
    assert httpx.get(server + "/api/status", timeout=5).json()["head_seq"] == 1
    verify = httpx.post(server + "/verify", timeout=10, follow_redirects=True)
    assert "ledger ok: 1 entries" in verify.text
    closed = httpx.post(
        server + "/day-close", data={"operator": "sup01"}, timeout=10, follow_redirects=True
    )
    assert "closed: 1 sales" in closed.text


def test_make_run_serves_a_card_sale_from_the_virtual_card(
    make_config: Callable[..., Path],
) -> None:
    port, hub_port = free_port(), free_port()
    config = make_config(
        risk=HIGH_LIMITS,
        web={"port": port},
        platform={"url": f"http://127.0.0.1:{hub_port}", "sync_interval_s": 0.5},
    )
    url = f"http://127.0.0.1:{port}"
    with medpos_process(config, "run", banner=4, ready=url + "/api/status") as lines:
        assert "virtual card of" in lines[0], lines
        assert f"local reference platform at http://127.0.0.1:{hub_port}" in lines[1], lines
        assert "camera: reading e-card codes from virtual phone" in lines[2], lines
        assert f"{url}/" in lines[3], lines
        page = httpx.post(
            url + "/card-sale", data={"token": "t1"}, timeout=30, follow_redirects=True
        )
        assert "card sale" in page.text and "committed" in page.text, str(page.url)
        status = httpx.get(url + "/api/status", timeout=5).json()
        assert status["head_seq"] == 1
        # the virtual phone shows a demo e-card code to the camera pipeline: the page names the
        # person it identifies, and an e-card sale settles for them
        for _ in range(100):
            page = httpx.get(url + "/", timeout=5)
            if "已识别 identified" in page.text:
                break
            time.sleep(0.2)
        assert "已识别 identified" in page.text and "checked offline" in page.text, page.text
        sold = httpx.post(
            url + "/ecard-sale", data={"token": "t2", "text": ""}, timeout=30, follow_redirects=True
        )
        assert "e-card sale" in sold.text and "committed" in sold.text, sold.text
        # a scanner types a code (minted here with the terminal's demo issuer): it sells once,
        # and the same code again is a replay
        from terminal.demo import demo_people
        from terminal.demo.ecard import demo_ecard_claims, demo_issuer_key
        from terminal.identity.issuer import mint_ecard

        person = demo_people(datetime.now(ZoneInfo("Asia/Shanghai")).date())[1]
        key = demo_issuer_key(config.parent / "var")
        code = mint_ecard(key, demo_ecard_claims(person), iat=int(time.time()))
        for token, expected in (("t3", "committed"), ("t4", "already used")):
            page = httpx.post(
                url + "/ecard-sale",
                data={"token": token, "text": code},
                timeout=30,
                follow_redirects=True,
            )
            assert expected in page.text, (token, page.text)
        assert httpx.get(url + "/api/status", timeout=5).json()["head_seq"] == 3
        # the background sync uploads the sales to the local platform
        for _ in range(100):
            if httpx.get(url + "/api/status", timeout=5).json()["outbox"] == 0:
                break
            time.sleep(0.2)
        synced = httpx.get(url + "/api/status", timeout=5).json()
        assert synced["outbox"] == 0 and synced["online"] is True and synced["last_sync_at"]
        assert "在线 online" in httpx.get(url + "/", timeout=5).text
