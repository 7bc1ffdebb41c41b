"""The HIS API over HTTP against `medpos serve` on loopback (his-api.md), driven by a client that
speaks only the spec (`his_client.py`): an outpatient visit and an inpatient stay of several days,
each settlement checked against `medpos settle` on the equivalent claim; idempotence by msgid;
a kill -9 between the call and the answer; every refusal of the spec's tables that this server's
configuration can meet."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from terminal.demo import demo_people, demo_persons
from tests.conftest import HIGH_LIMITS, MEDPOS, free_port, wait_http, write_config
from tests.e2e.his_client import HisClient
from tests.support.cli import in_process, medpos_env
from tests.ui.harness import CHROMIUM

TOKEN = "his-test-token"
TZ = ZoneInfo("Asia/Shanghai")
SPLIT = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")


class Terminal:
    """`medpos serve` on one configuration; `kill9` and `start` again on the same data."""

    def __init__(self, config: Path, port: int) -> None:
        self.config = config
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MEDPOS, "serve"],
            env=medpos_env(self.config),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http(self.url + "/api/status", proc=self.proc)

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


@pytest.fixture(scope="module")
def terminal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Terminal]:
    root = tmp_path_factory.mktemp("his")
    port = free_port()
    config = write_config(
        root / "config.toml",
        {
            "risk": HIGH_LIMITS,
            "terminal": {"inst_level": "2"},
            "web": {"port": port},
            "qr": {"source": "none"},
            "card": {"virtual": False, "reader": "", "sam": ""},  # no card slot: no pcscd
            "platform": {"url": f"http://127.0.0.1:{free_port()}"},  # none: offline
            "his": {"enabled": True, "token": TOKEN, "allow_id_number": True},
        },
    )
    assert in_process(config, "signin", "--operator", "1001").returncode == 0
    term = Terminal(config, port)
    term.start()
    try:
        yield term
    finally:
        term.stop()


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    subprocess.run([sys.executable, "-m", "terminal.demo", "write", str(out)], check=True,
                   capture_output=True)  # fmt: skip
    return out


def _today() -> datetime:
    return datetime.now(TZ)


def _person(i: int) -> Any:
    return demo_people(_today().date())[i]


def _opening(i: int) -> dict[str, Any]:
    cert = _person(i).psn_cert
    return next(p for p in demo_persons(_today().date()) if p["person"]["psn_cert"] == cert)


def _settle(demo_dir: Path, tmp: Path, claim: dict[str, Any]) -> dict[str, Any]:
    path = tmp / "claim.json"
    path.write_text(json.dumps(claim, ensure_ascii=False), encoding="utf-8")
    done = in_process(
        demo_dir / "config-unused.toml",
        "settle",
        "--policy", str(demo_dir / "policy.toml"),
        "--catalogue", str(demo_dir / "catalogue.json"),
        "--claim", str(path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _line(sn: str, mid: str, psn_no: str, code: str, cnt: Any, pric: str, when: str,
          **extra: Any) -> dict[str, Any]:  # fmt: skip
    amount = (Decimal(cnt) * Decimal(pric)).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    return {
        "feedetl_sn": sn, "mdtrt_id": mid, "psn_no": psn_no, "fee_ocur_time": when,
        "med_list_codg": code, "medins_list_codg": "H-" + code, "det_item_fee_sumamt": str(amount),
        "cnt": cnt, "pric": pric, "bilg_dept_codg": "A01", "bilg_dept_name": "内科",
        "bilg_dr_codg": "D001", "bilg_dr_name": "王医生", **extra,
    }  # fmt: skip


def _register(his: HisClient, i: int, number: str) -> str:
    p = _person(i)
    out = his.ok("2201", {"data": {
        "psn_no": p.psn_no, "insutype": p.insutype, "begntime": f"{_today():%Y-%m-%d} 08:00:00",
        "mdtrt_cert_type": "02", "mdtrt_cert_no": p.psn_cert, "ipt_otp_no": number,
        "atddr_no": "D001", "dr_name": "王医生", "dept_code": "A01", "dept_name": "内科",
        "caty": "A01"}})  # fmt: skip
    mid = str(out["data"]["mdtrt_id"])
    his.ok("2203", {"mdtrtinfo": {"mdtrt_id": mid, "psn_no": p.psn_no, "med_type": "11",
                                  "begntime": f"{_today():%Y-%m-%d} 08:00:00"},
                    "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": "J06.9",
                                  "diag_name": "上呼吸道感染", "diag_dept": "内科",
                                  "dise_dor_no": "D001", "dise_dor_name": "王医生",
                                  "diag_time": f"{_today():%Y-%m-%d} 08:05:00",
                                  "vali_flag": "1"}]})  # fmt: skip
    return mid


def _settle_data(i: int, mid: str, total: Any, **extra: Any) -> dict[str, Any]:
    p = _person(i)
    return {"psn_no": p.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": p.psn_cert,
            "medfee_sumamt": str(total), "psn_setlway": "01", "mdtrt_id": mid,
            "acct_used_flag": "0", "insutype": p.insutype, **extra}  # fmt: skip


def _matches(setlinfo: dict[str, Any], engine: dict[str, Any], balance: str) -> None:
    for name, value in engine["setlinfo"].items():
        if name == "balc":
            assert setlinfo["balc"] == balance
        elif name == "pool_prop_selfpay":
            assert Decimal(setlinfo[name]) == Decimal(value), name
        else:
            assert setlinfo[name] == value, name


def test_an_outpatient_visit_settles_as_medpos_settle_and_a_resent_msgid_gets_the_same_bytes(
    terminal: Terminal, demo_dir: Path, tmp_path: Path
) -> None:
    his = HisClient(terminal.url, TOKEN, prefix="out-")
    p = _person(1)
    person = his.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": p.psn_cert}})
    assert person["baseinfo"]["psn_no"] == p.psn_no and person["baseinfo"]["age"] >= 18
    mid = _register(his, 1, "MZ-0001")
    when = f"{_today():%Y-%m-%d} 08:30:00"
    lines = [
        _line("1", mid, p.psn_no, "XJ01CA0001", 2, "8.50", when, chrg_bchno="B1"),
        # a drug with no stock bought before the rule: its package's traceability code
        _line(
            "2",
            mid,
            p.psn_no,
            "XJ01CR0004",
            "1.000",
            "26.4000",
            when,
            chrg_bchno="B1",
            trac=["83456789012345678901"],
        ),
        _line("3", mid, p.psn_no, "XA12AX0219", "1", "26.80", when, chrg_bchno="B1"),
        _line("4", mid, p.psn_no, "NOT-IN-CATALOGUE", "3", "1.25", when, chrg_bchno="B1"),
    ]
    lines[0]["cnt"] = 2  # a JSON number, read exactly
    result = his.ok("2204", {"feedetail": lines})["result"]
    assert [r["memo"] for r in result] == [None, None, "category_c", "unknown_code"]
    assert [r["chrgitm_lv"] for r in result] == ["01", "02", "03", "03"]
    assert result[1]["selfpay_prop"] == "0.15" and result[3]["selfpay_prop"] == "1"
    total = sum(Decimal(ln["det_item_fee_sumamt"]) for ln in lines)
    data = _settle_data(1, mid, total, med_type="11", chrg_bchno="B1")
    pre = his.ok("2206", {"data": data})
    claim = {
        "person": {k: v for k, v in _opening(1)["person"].items()},
        "visit": {"med_type": "11", "inst_level": "2", "date": _today().date().isoformat()},
        "accumulators": {**_opening(1)["accumulators"], "acct_balance": "0.00"},
        "basket": [{"code": ln["med_list_codg"], "qty": str(ln["cnt"]), "price": ln["pric"]}
                   for ln in lines],
    }  # fmt: skip
    engine = _settle(demo_dir, tmp_path, claim)
    balance = _opening(1)["accumulators"]["acct_balance"]
    _matches(pre["setlinfo"], engine, balance)
    settle_in = {"data": {**data, **{k: pre["setlinfo"][k] for k in SPLIT}}}
    done = his.ok("2207", settle_in)
    first_raw, msgid = his.last_raw, his.last_msgid
    _matches(done["setlinfo"], engine, balance)
    funds = {d["fund_pay_type"]: d["fund_payamt"] for d in done["setldetail"]}
    codes = {"310100": "hifp_pay", "330200": "cvlserv_pay", "390200": "hifmi_pay",
             "610100": "maf_pay", "999999": "oth_pay"}  # fmt: skip
    want = {c: engine["setlinfo"][n] for c, n in codes.items() if engine["setlinfo"][n] != "0.00"}
    assert funds == want
    his.call("2207", settle_in, msgid=msgid)
    assert his.last_raw == first_raw  # the stored answer, byte for byte; nothing settled twice
    setl_id = done["setlinfo"]["setl_id"]
    fees = his.ok("5204", {"data": {"psn_no": p.psn_no, "setl_id": setl_id, "mdtrt_id": mid}})
    assert [f["feedetl_sn"] for f in fees["feedetail"]] == ["1", "2", "3", "4"]
    assert his.refused("2204", {"feedetail": [_line("9", mid, p.psn_no, "XJ01CA0001", "1",
                       "8.50", when, chrg_bchno="B1")]}) == "batch_settled"  # fmt: skip
    back = his.ok("2208", {"data": {"psn_no": p.psn_no, "setl_id": setl_id, "mdtrt_id": mid}})
    assert back["setlinfo"]["medfee_sumamt"] == "-" + engine["setlinfo"]["medfee_sumamt"]
    again = {"data": {"psn_no": p.psn_no, "setl_id": setl_id, "mdtrt_id": mid}}
    assert his.refused("2208", again) == "already_reversed"
    assert his.refused("2204", settle_in, msgid=msgid) == "msgid_reused"


def _admit(his: HisClient, i: int, number: str, days_ago: int) -> str:
    p = _person(i)
    begin = _today() - timedelta(days=days_ago)
    out = his.ok("2401", {"mdtrtinfo": {
        "psn_no": p.psn_no, "insutype": p.insutype, "begntime": f"{begin:%Y-%m-%d} 09:00:00",
        "mdtrt_cert_type": "02", "mdtrt_cert_no": p.psn_cert, "med_type": "21",
        "ipt_no": number, "atddr_no": "D002", "chfpdr_name": "李主任", "adm_dept_codg": "B02",
        "adm_dept_name": "外科"}, "diseinfo": []})  # fmt: skip
    return str(out["result"]["mdtrt_id"])


def test_an_inpatient_stay_with_a_return_a_mid_stay_and_a_final_settlement(
    terminal: Terminal, demo_dir: Path, tmp_path: Path
) -> None:
    his = HisClient(terminal.url, TOKEN, prefix="in-")
    i, p = 11, _person(11)
    if _today().month == 1 and _today().day < 5:
        pytest.skip("the stay would begin in the last policy year")  # demo policy is per year
    mid = _admit(his, i, "ZY-0001", 3)
    day = [f"{_today() - timedelta(days=d):%Y-%m-%d} 10:00:00" for d in (3, 2, 1)]
    his.ok("2301", {"feedetail": [
        _line("d1-1", mid, p.psn_no, "SV010", "1", "80.00", day[0]),
        _line("d1-2", mid, p.psn_no, "XB01AF0053", "4", "32.60", day[0]),
    ]})  # fmt: skip
    his.ok("2301", {"feedetail": [
        _line("d2-1", mid, p.psn_no, "SV011", "2", "150.00", day[1]),
        _line("d2-2", mid, p.psn_no, "XB01AF0053", "-1", "32.60", day[1], init_feedetl_sn="d1-2"),
    ]})  # fmt: skip
    over = _line("d2-3", mid, p.psn_no, "XB01AF0053", "-4", "32.60", day[1],
                 init_feedetl_sn="d1-2")  # fmt: skip
    assert his.refused("2301", {"feedetail": [over]}) == "return_exceeds"
    total = Decimal("80.00") + 4 * Decimal("32.60") - Decimal("32.60") + 2 * Decimal("150.00")
    mid_data = _settle_data(i, mid, total, med_type="21", mid_setl_flag="1")
    assert his.refused("2303", {"data": {**mid_data, "mid_setl_flag": "0"}}) == "not_discharged"
    pre = his.ok("2303", {"data": mid_data})
    first = his.ok("2304", {"data": {**mid_data, **{k: pre["setlinfo"][k] for k in SPLIT}}})
    opening = _opening(i)
    claim = {
        "person": opening["person"],
        "visit": {"med_type": "21", "inst_level": "2", "date": _today().date().isoformat()},
        "accumulators": {**opening["accumulators"], "acct_balance": "0.00"},
        "basket": [{"code": "SV010", "qty": "1", "price": "80.00"},
                   {"code": "XB01AF0053", "qty": "3", "price": "32.60"},
                   {"code": "SV011", "qty": "2", "price": "150.00"}],
    }  # fmt: skip
    engine = _settle(demo_dir, tmp_path, claim)
    _matches(first["setlinfo"], engine, opening["accumulators"]["acct_balance"])
    late = _line("d1-9", mid, p.psn_no, "XB01AF0053", "-1", "32.60", day[2], init_feedetl_sn="d1-2")
    assert his.refused("2301", {"feedetail": [late]}) == "line_settled"
    his.ok("2301", {"feedetail": [_line("d3-1", mid, p.psn_no, "SV012", "1", "260.00", day[2])]})
    assert his.refused("2402", {"dscginfo": {"mdtrt_id": mid, "psn_no": p.psn_no,
                       "insutype": p.insutype, "endtime": "2000-01-01 00:00:00",
                       "dscg_dept_codg": "B02", "dscg_dept_name": "外科", "dscg_way": "1"},
                       "diseinfo": [{"maindiag_flag": "1"}]}) == "bad_endtime"  # fmt: skip
    his.ok("2402", {"dscginfo": {"mdtrt_id": mid, "psn_no": p.psn_no, "insutype": p.insutype,
                                 "endtime": f"{_today():%Y-%m-%d} 00:00:01",
                                 "dscg_dept_codg": "B02", "dscg_dept_name": "外科",
                                 "dscg_way": "1"},
                    "diseinfo": [{"maindiag_flag": "1", "diag_code": "K35.8"}]})  # fmt: skip
    final_data = _settle_data(i, mid, "260.00", med_type="21", mid_setl_flag="0")
    pre2 = his.ok("2303", {"data": final_data})
    final = his.ok("2304", {"data": {**final_data, **{k: pre2["setlinfo"][k] for k in SPLIT}}})
    claim2 = {**claim, "accumulators": {**engine["accumulators_after"], "acct_balance": "0.00"},
              "basket": [{"code": "SV012", "qty": "1", "price": "260.00"}]}  # fmt: skip
    _matches(final["setlinfo"], _settle(demo_dir, tmp_path, claim2),
             opening["accumulators"]["acct_balance"])  # fmt: skip
    visits = his.ok("5201", {"data": {"psn_no": p.psn_no}})["mdtrtinfo"]
    assert [v["state"] for v in visits if v["mdtrt_id"] == mid] == ["settled"]
    ref = {"data": {"mdtrt_id": mid, "psn_no": p.psn_no}}
    assert his.refused("2405", ref) == "has_settlement"
    his.ok("2305", {"data": {**ref["data"], "setl_id": final["setlinfo"]["setl_id"]}})
    visits = his.ok("5201", {"data": {"psn_no": p.psn_no}})["mdtrtinfo"]
    assert [v["state"] for v in visits if v["mdtrt_id"] == mid] == ["discharged"]


def test_a_kill_9_between_the_call_and_the_answer_settles_once(terminal: Terminal) -> None:
    his = HisClient(terminal.url, TOKEN, prefix="k9-")
    p = _person(4)
    mid = _register(his, 4, "MZ-K9")
    when = f"{_today():%Y-%m-%d} 09:00:00"
    his.ok("2204", {"feedetail": [_line("1", mid, p.psn_no, "SV001", "1", "10.00", when,
                                        chrg_bchno="K")]})  # fmt: skip
    data = _settle_data(4, mid, "10.00", med_type="11", chrg_bchno="K")
    pre = his.ok("2206", {"data": data})
    envelope: dict[str, Any] = {"infno": "2207", "msgid": "k9-settle", "opter": "1001",
                "input": {"data": {**data, **{k: pre["setlinfo"][k] for k in SPLIT}}}}  # fmt: skip
    body = json.dumps(envelope).encode()
    head = (
        f"POST /his/v1/call HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(
        (terminal.url.split("//")[1].split(":")[0], int(terminal.url.rsplit(":", 1)[1]))
    ) as sock:
        sock.sendall(head.encode() + body)  # the answer is never read: the HIS never gets it
        for _ in range(200):  # until the settlement is committed: nothing left to pre-settle
            if his.call("2206", {"data": data}).get("err_code") == "empty_batch":
                break
        terminal.kill9()
    terminal.start()
    answers = [his.call("2207", envelope["input"], msgid="k9-settle") for _ in range(2)]
    assert answers[0] == answers[1] and answers[0]["infcode"] == 0
    setl_id = answers[0]["output"]["setlinfo"]["setl_id"]
    visits = his.ok("5201", {"data": {"psn_no": p.psn_no}})["mdtrtinfo"]
    assert [v["mdtrt_id"] for v in visits].count(mid) == 1
    info = his.ok("5203", {"data": {"psn_no": p.psn_no, "setl_id": setl_id, "mdtrt_id": mid}})
    assert info["setlinfo"]["state"] == "settled"
    assert his.refused("2204", {"feedetail": [_line("2", mid, p.psn_no, "SV001", "1", "10.00",
                       when, chrg_bchno="K")]}) == "batch_settled"  # fmt: skip


def test_the_billing_desk_page_settles_a_batch_and_reverses_it_in_chromium(
    terminal: Terminal, capsys: pytest.CaptureFixture[str]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    his = HisClient(terminal.url, TOKEN, prefix="ui-")
    p = _person(3)
    mid = _register(his, 3, "MZ-UI")
    when = f"{_today():%Y-%m-%d} 09:00:00"
    line = _line("1", mid, p.psn_no, "SV002", "1", "20.00", when, chrg_bchno="U1")
    his.ok("2204", {"feedetail": [line]})
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_context(locale="en-US").new_page()
            page.goto(terminal.url + "/lang/en")
            page.goto(terminal.url + "/login?next=/desk")
            page.fill("input[name=operator_id]", "1001")
            page.fill("input[name=pin]", "1234")
            page.click("button[type=submit]")
            expect(page.get_by_test_id("visits-open")).to_contain_text(mid)
            _identity_from_an_ecard_scanned_at_the_counter(terminal, page)
            _the_demo_his_runs_a_visit_and_a_stay_for_that_person(terminal, capsys)
            page.goto(f"{terminal.url}/desk?mdtrt_id={mid}")
            expect(page.get_by_test_id("lines")).to_contain_text("SV002")
            batch = page.get_by_test_id("batch-U1")
            batch.get_by_role("button", name="Pre-settle").click()
            expect(page.get_by_role("status")).to_contain_text("Pre-settlement: total 20.00")
            page.get_by_test_id("batch-U1").get_by_role("button", name="Settle", exact=True).click()
            expect(page.get_by_role("status")).to_contain_text("Settled")
            expect(page.get_by_test_id("settlements")).to_contain_text("in force")
            page.get_by_test_id("settlements").get_by_role("button", name="Reverse").click()
            expect(page.get_by_role("status")).to_contain_text("Reversed")
            expect(page.get_by_test_id("settlements")).to_contain_text("reversed")
            expect(page.get_by_test_id("lines")).to_contain_text("unsettled")
            page.goto(terminal.url + "/lang/zh")
            page.goto(f"{terminal.url}/desk?mdtrt_id={mid}")
            expect(page.get_by_test_id("settlements")).to_contain_text("已撤销")
            page.goto(f"{terminal.url}/desk")  # the lists' first column is the visit's id
            head = page.get_by_test_id("visits-open").locator("th").first
            expect(head).to_have_text("就诊ID")
        finally:
            browser.close()


def _the_demo_his_runs_a_visit_and_a_stay_for_that_person(
    terminal: Terminal, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m terminal.demo his` (what `make run` offers a newcomer): one outpatient visit
    and one inpatient stay through the HIS API, for the person just identified."""
    from terminal.config import load_config
    from terminal.demo.his import run_demo_his

    capsys.readouterr()
    assert run_demo_his(load_config(terminal.config, env={}), terminal.url, TOKEN) == 0
    shown = capsys.readouterr().out.splitlines()
    answered = [ln.split()[0] for ln in shown if "  -> 0 " in ln]
    assert answered == ["1101", "2201", "2203", "2204", "2206", "2207",
                        "2401", "2301", "2402", "2303", "2304"], shown  # fmt: skip


def _identity_from_an_ecard_scanned_at_the_counter(terminal: Terminal, page: Any) -> None:
    """GET /his/v1/identity: nothing before the scan; the verified e-card after it, which 1101
    and 2201 then accept as proved at this terminal (his-api.md "Identity at the desk")."""
    import time as clock

    from terminal.demo.ecard import demo_ecard_claims, demo_issuer_key
    from terminal.identity.issuer import mint_ecard
    from tests.ui.harness import scan

    auth = {"Authorization": f"Bearer {TOKEN}"}
    before = httpx.get(terminal.url + "/his/v1/identity", headers=auth, timeout=10)
    assert before.status_code == 404 and before.json() == {"err_code": "no_identity"}
    assert httpx.get(terminal.url + "/his/v1/identity", timeout=10).status_code == 401
    person = _person(5)
    key = demo_issuer_key(terminal.config.parent / "var")
    code = mint_ecard(key, demo_ecard_claims(person), iat=int(clock.time()))
    page.goto(terminal.url + "/")
    scan(page, code)
    found = httpx.get(terminal.url + "/his/v1/identity", headers=auth, timeout=20)  # the latest
    assert found.status_code == 200, page.locator("main").inner_text()
    who = found.json()
    assert who["mdtrt_cert_type"] == "01" and who["certno"] == person.psn_cert
    assert "signature" in who["checks"] and "replay" in who["checks"]
    his = HisClient(terminal.url, TOKEN, prefix="id-")
    cert = {"mdtrt_cert_type": "01", "mdtrt_cert_no": who["mdtrt_cert_no"]}
    assert his.ok("1101", {"data": cert})["baseinfo"]["certno"] == person.psn_cert
    out = his.ok("2201", {"data": {
        "psn_no": person.psn_no, "insutype": person.insutype, "begntime": "2026-01-01 08:00:00",
        **cert, "ipt_otp_no": "MZ-EC", "atddr_no": "D", "dr_name": "医生", "dept_code": "A",
        "dept_name": "内科", "caty": "A"}})  # fmt: skip
    assert out["data"]["psn_no"] == person.psn_no
    stranger = {"mdtrt_cert_type": "01", "mdtrt_cert_no": "00" * 16}
    assert his.refused("1101", {"data": stranger}) == "cert_not_verified"


def test_the_transport_refuses_a_wrong_token_and_bad_envelopes(terminal: Terminal) -> None:
    his = HisClient(terminal.url, TOKEN, prefix="tr-")
    envelope = {"infno": "5201", "msgid": "tr-1", "opter": "1001", "input": {"data": {}}}
    denied = his.post(envelope, token="not-the-token")
    assert denied.status_code == 401 and denied.content == b""
    for body, named in (
        (b"{not json", "JSON"),
        (json.dumps({k: v for k, v in envelope.items() if k != "opter"}).encode(), "opter"),
        (json.dumps({**envelope, "msgid": "x" * 31}).encode(), "msgid"),
        (json.dumps({**envelope, "pad": "x" * (1 << 20)}).encode(), "1 MiB"),
    ):
        answer = his.post(body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["err_code"] == "bad_request" and named in answer.json()["err_msg"]
    refused = his.post({**envelope, "opter": "nobody"})
    assert refused.status_code == 200 and refused.json()["err_code"] == "not_signed_in"
    assert httpx.get(terminal.url + "/his/v1/call", timeout=10).status_code == 405
    slash = httpx.post(terminal.url + "/his/v1/call/", json={**envelope, "msgid": "tr-slash"},
                       headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)  # fmt: skip
    assert slash.status_code == 200 and "inf_refmsgid" in slash.json(), slash.text  # answered
    # answered before the app's router, and still counted under its route
    scrape = httpx.get(terminal.url + "/metrics", timeout=10).text
    counted = 'medpos_http_requests_total{app="terminal",method="POST",route="/his/v1/call",'
    assert counted + 'status="401"}' in scrape and counted + 'status="400"}' in scrape
