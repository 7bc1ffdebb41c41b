"""The terminal's page and HTTP sale, served by `medpos serve` as a real process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from terminal.demo import demo_claim
from tests.conftest import HIGH_LIMITS, free_port, medpos_process
from tests.e2e.webauth import API_TOKEN, AUTH, sign_in


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def server(make_config: Callable[..., Path]) -> Iterator[str]:
    port = free_port()
    config = make_config(risk=HIGH_LIMITS, web={"port": port, "api_token": API_TOKEN})
    url = f"http://127.0.0.1:{port}"
    with medpos_process(config, "serve", banner=2, ready=url + "/api/status") as banner:
        assert "camera: reading e-card codes from virtual phone" in banner[0], banner
        assert f"{url}/" in banner[1], banner
        yield url


def test_a_hospital_system_posts_a_claim_and_gets_the_committed_sale(server: str) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    claim = demo_claim("outpatient", today)
    done = httpx.post(server + "/api/checkout", json=claim, headers=AUTH, timeout=10)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["seq"] == 1 and set(body) == {"txn_id", "seq", "hash", "setlinfo"}
    claim["basket"][0]["qty"] = "-2"
    bad = httpx.post(server + "/api/checkout", json=claim, headers=AUTH, timeout=10)
    assert bad.status_code == 422
    assert "basket[0].qty" in bad.json()["message"]
    assert httpx.get(server + "/api/status", timeout=5).json()["outbox"] == 1


@contextmanager
def _signed_in(url: str, operator: str = "1001", pin: str = "1234") -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as client:
        answer = sign_in(client, operator, pin)
        assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text
        yield client


def _basket_id(client: httpx.Client) -> str:
    page = client.get("/counter").text
    return page.split('data-basket="', 1)[1].split('"', 1)[0]


def test_the_counter_works_without_script_and_sells_once_per_basket(
    server: str, config_dir: Path
) -> None:
    """The plain forms (no JavaScript): a scanner types an e-card code and barcodes, the basket
    is confirmed twice (a double click), one sale is made, its receipt is printed and checks."""
    from terminal.demo import demo_people
    from terminal.demo.ecard import demo_ecard_claims, demo_issuer_key
    from terminal.identity.issuer import mint_ecard

    assert httpx.get(server + "/", timeout=5).headers["location"] == "/login?next=/"
    with _signed_in(server) as client:
        person = demo_people(datetime.now(ZoneInfo("Asia/Shanghai")).date())[1]
        code = mint_ecard(
            demo_issuer_key(config_dir / "var"), demo_ecard_claims(person), iat=int(time.time())
        )
        for text in (code, "6910100000012", "6910100000029", "*2"):
            assert client.post("/scan", data={"text": text}).status_code == 303
        counter = client.get("/counter").text
        assert person.name in counter and 'data-testid="presettlement"' in counter, counter
        basket = _basket_id(client)
        for _ in range(2):  # a double click: the second finds the first sale
            done = client.post(
                "/confirm", data={"basket_id": basket, "payment_method": "bank_card"}
            )
            assert done.status_code == 303 and "err=" not in done.headers["location"], done.headers
        status = httpx.get(server + "/api/status", timeout=5).json()
        assert status["head_seq"] == 1
        txn_id = f"{status['dev_no']}-1"
        receipt = config_dir / "var" / "receipts" / f"{txn_id}.escpos"
        assert receipt.exists() and txn_id.encode() in receipt.read_bytes()
        html = client.get(f"/receipt/{txn_id}").text
        assert txn_id in html and "银行卡" in html
        # the QR code's text, as the printer receives it (its GS ( k store command)
        qr_text = receipt.read_bytes().split(b"medpos:r1:", 1)[1].split(b"\x1d", 1)[0].decode()
        checked = client.get("/verify", params={"code": "medpos:r1:" + qr_text}).text
        assert 'data-testid="verify-outcome"' in checked and "真实" in checked, checked
        # the same e-card code again is a replay: refused with what to do
        client.post("/scan", data={"text": code})
        assert "此凭证已在本终端使用过" in client.get("/counter").text
        # closing the day needs a supervisor
        refused = client.post("/day/close", data={"sup_id": "1001", "sup_pin": "1234"})
        assert "err=" in refused.headers["location"]
        closed = client.post("/day/close", data={"sup_id": "2001", "sup_pin": "2468"})
        assert "msg=" in closed.headers["location"], closed.headers
    with _signed_in(server, "2001", "2468") as supervisor:  # the day-end page is a supervisor's
        assert 'data-testid="closure"' in supervisor.get("/day").text


def test_make_run_identifies_the_virtual_card_and_syncs_in_the_background(
    make_config: Callable[..., Path],
) -> None:
    port, hub_port = free_port(), free_port()
    config = make_config(
        risk=HIGH_LIMITS,
        web={"port": port, "api_token": API_TOKEN},
        platform={"url": f"http://127.0.0.1:{hub_port}", "sync_interval_s": 0.5},
    )
    url = f"http://127.0.0.1:{port}"
    with medpos_process(config, "run", banner=4, ready=url + "/api/status") as lines:
        assert "virtual card of" in lines[0], lines
        assert f"local reference platform at http://127.0.0.1:{hub_port}" in lines[1], lines
        assert "camera: reading e-card codes from virtual phone" in lines[2], lines
        assert f"{url}/" in lines[3], lines
        with _signed_in(url) as client:
            # the card in the reader identifies the customer (a bound on a loaded machine's
            # wait, never a timing: a count of tries ran out in 10 s under a full suite)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if 'data-testid="person"' in client.get("/counter").text:
                    break
                time.sleep(0.1)
            assert "社保卡识别" in client.get("/counter").text
            client.post("/scan", data={"text": "6910100000012"})
            client.post(
                "/confirm", data={"basket_id": _basket_id(client), "payment_method": "cash"}
            )
            assert httpx.get(url + "/api/status", timeout=5).json()["head_seq"] == 1
            deadline = time.monotonic() + 60  # the background sync uploads the sale
            with httpx.Client(timeout=5) as plain:  # one TLS context, not one a try
                while time.monotonic() < deadline:
                    if plain.get(url + "/api/status").json()["outbox"] == 0:
                        break
                    time.sleep(0.1)
            synced = httpx.get(url + "/api/status", timeout=5).json()
            assert synced["outbox"] == 0 and synced["online"] is True and synced["last_sync_at"]
            assert "在线" in client.get("/status-bar").text
