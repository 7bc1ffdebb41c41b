"""Self-pay (自费, no insurance) over HTTP, served by `medpos serve` as a real process:
`POST /api/checkout` with `"self_pay": true` (as `medpos checkout --self-pay`), and its refund on
the refund page and its rows in the day's CSV export, through the plain forms (no script)."""

from __future__ import annotations

import codecs
import csv
import io
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from terminal.demo import demo_claim
from tests.conftest import HIGH_LIMITS, free_port, medpos_process, write_config
from tests.e2e.webauth import API_TOKEN, AUTH, sign_in

CASHIER, SUPERVISOR = ("1001", "1234"), ("2001", "2468")


def _serve(config_file: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    # no card reader: self-pay needs none, and the server then never asks the machine-wide
    # pcscd, so these tests run beside the card tests (tests/support/grouping.py)
    config = write_config(
        config_file,
        {
            "risk": HIGH_LIMITS,
            "web": {"port": port, "api_token": API_TOKEN},
            "card": {"reader": ""},
        },
    )
    url = f"http://127.0.0.1:{port}"
    with medpos_process(config, "serve", banner=2, ready=url + "/api/status"):
        yield url, config.parent / "var" / "medpos.db"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The terminal's URL, and its database file."""
    yield from _serve(tmp_path / "config.toml")


@pytest.fixture(scope="module")
def refusing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One terminal for every refusal case: each asserts that its own request wrote nothing, so
    none needs a fresh one (a case that wrote would fail itself, and every one after it)."""
    yield from _serve(tmp_path_factory.mktemp("refusals") / "config.toml")


def _claim() -> dict[str, Any]:
    return demo_claim("pharmacy", datetime.now(ZoneInfo("Asia/Shanghai")).date())


def _self_pay_rows(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM self_pay_sales").fetchone()[0])
    finally:
        conn.close()


def test_a_hospital_system_sells_the_claims_basket_as_self_pay(server: tuple[str, Path]) -> None:
    url, db = server
    claim = _claim()
    body = {
        "self_pay": True,
        "payment_method": "mobile",
        "basket_id": "his-0001",
        "basket": claim["basket"],
    }
    done = httpx.post(url + "/api/checkout", json=body, headers=AUTH, timeout=10)
    assert done.status_code == 200, done.text
    sale = done.json()
    assert set(sale) == {"self_pay_id", "total", "lines"}
    assert sale["self_pay_id"].endswith("-S1") and sale["total"] == "81.30"
    assert [line["code"] for line in sale["lines"]] == [line["code"] for line in claim["basket"]]
    # the same basket id again (a retry) is the same sale
    again = httpx.post(
        url + "/api/checkout", json={**body, "payment_method": "cash"}, headers=AUTH, timeout=10
    )
    assert again.status_code == 200 and again.json() == sale
    # a whole claim marked self-pay: its person is not used, and a basket id is made for it
    whole = httpx.post(
        url + "/api/checkout", json={**claim, "self_pay": True}, headers=AUTH, timeout=10
    )
    assert whole.status_code == 200, whole.text
    assert whole.json()["self_pay_id"].endswith("-S2")
    status = httpx.get(url + "/api/status", timeout=5).json()
    assert status["head_seq"] == 0 and status["outbox"] == 0  # nothing in the insurance chain
    assert _self_pay_rows(db) == 2


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"basket": [{"code": "X-OWN-BRAND", "qty": "1"}]}, "[0].price"),
        ({"basket": [{"code": "XC10AA0055", "qty": "-2", "price": "9.60"}]}, "basket[0].qty"),
        ({"basket": []}, "non-empty list"),
        ({"payment_method": "cheque"}, "payment_method"),
        ({"basket_id": "a b"}, "basket_id"),
        ({"self_pay": "yes"}, "request.self_pay"),
        ({"self_pay": False, "basket_id": "a b"}, "basket_id"),  # an insurance sale's, too
    ],
)
def test_bad_self_pay_input_is_422_naming_the_field_and_writes_nothing(
    refusing_server: tuple[str, Path], changes: dict[str, Any], words: str
) -> None:
    url, db = refusing_server
    body = {"self_pay": True, "basket_id": "his-0002", "basket": _claim()["basket"], **changes}
    bad = httpx.post(url + "/api/checkout", json=body, headers=AUTH, timeout=10)
    assert bad.status_code == 422, bad.text
    assert words in bad.json()["message"]
    assert _self_pay_rows(db) == 0


@contextmanager
def _signed_in(url: str, who: tuple[str, str] = CASHIER) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as client:
        answer = sign_in(client, who[0], who[1])
        assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text
        yield client


def test_a_supervisor_refunds_a_self_pay_sale_and_the_day_export_lists_both(
    server: tuple[str, Path],
) -> None:
    url, db = server
    body = {"self_pay": True, "basket": _claim()["basket"]}
    sale = httpx.post(url + "/api/checkout", json=body, headers=AUTH, timeout=10).json()
    sale_id = sale["self_pay_id"]
    with _signed_in(url) as client:
        listed = client.get("/refund").text
        assert 'data-testid="self-pay-sales"' in listed and sale_id in listed
        chosen = client.get("/refund", params={"txn_id": sale_id}).text
        assert "全额退还顾客" in chosen
        form = {"txn_id": sale_id, "reason": "顾客退货"}
        refused = client.post("/refund", data={**form, "sup_id": CASHIER[0], "sup_pin": CASHIER[1]})
        assert refused.status_code == 303 and "err=" in refused.headers["location"]
        approved = {**form, "sup_id": SUPERVISOR[0], "sup_pin": SUPERVISOR[1]}
        done = client.post("/refund", data=approved)
        assert done.status_code == 303, done.text
        assert "msg=" in done.headers["location"] and "err=" not in done.headers["location"]
        assert "已退费" in client.get("/refund", params={"q": sale_id}).text
        again = client.post("/refund", data=approved)  # the same sale again: refused, said why
        assert "err=" in again.headers["location"]
        refund_id = sale_id.rsplit("-S", 1)[0] + "-S2"
        receipt = client.get(f"/receipt/{refund_id}").text
        assert "退费" in receipt and sale_id in receipt and "-" + sale["total"] in receipt
    with _signed_in(url, SUPERVISOR) as supervisor:  # the day's figures are a supervisor's
        exported = supervisor.get("/day.csv")
        assert exported.status_code == 200 and exported.content.startswith(codecs.BOM_UTF8)
        rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["kind"], r["txn_id"]) for r in rows] == [
        ("self_pay", sale_id),
        ("self_pay_refund", refund_id),
    ]
    refund_row = rows[1]
    assert refund_row["orig_txn_id"] == sale_id and refund_row["operator"] == SUPERVISOR[0]
    assert refund_row["psn_cash_pay"] == refund_row["medfee_sumamt"] == "-" + sale["total"]
    assert refund_row["fund_pay_sumamt"] == "0.00" and refund_row["sync_status"] == "not_uploaded"
    assert _self_pay_rows(db) == 2
