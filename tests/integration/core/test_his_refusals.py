"""Every refusal of his-api.md's tables, table-driven, on a terminal with a real database file
(the desk in-process: the envelope bytes in, the answer bytes out, as the HTTP route hands them).
Each refusal is answered `infcode` -1 with its code and a sentence, and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from terminal.checkout.operators import sign_session
from terminal.checkout.service import CheckoutService
from terminal.demo import demo_people
from terminal.his import HisDesk, build_desk
from terminal.his.pending import pending_settlements
from terminal.ledger.his import (
    HIS_LINE_COLUMNS,
    his_line_rows,
    his_presettle_lines,
    his_unsettled_lines,
    his_visit,
    insert_his_lines,
    set_his_lines,
)
from terminal.ledger.his_desk import his_deferred
from tests.conftest import HIGH_LIMITS
from tests.integration.core.conftest import SetClock
from tests.support.cli import in_process

Row = tuple[str, str, Callable[["Desk"], dict[str, Any]]]
_SPLIT = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")


class Desk:
    """The desk with a few visits in known states, and envelope helpers."""

    v1 = v2 = v3 = w1 = s1 = ""  # the fixture's visits and settlement

    def __init__(self, service: CheckoutService, clock: SetClock) -> None:
        self.service = service
        self.desk: HisDesk = build_desk(service)
        self.n = 0
        self.today = service.local_now()
        self.people = demo_people(self.today.date())
        sign_session(service, "1001", "收费员", True)

    def send(self, infno: str, input: dict[str, Any], msgid: str | None = None,
             opter: str = "1001") -> dict[str, Any]:  # fmt: skip
        self.n += 1
        env = {"infno": infno, "msgid": msgid or f"t{self.n}", "opter": opter, "input": input}
        status, body = self.desk.call(json.dumps(env).encode())
        assert status == 200, body
        answer: dict[str, Any] = json.loads(body)
        return answer

    def ok(self, infno: str, input: dict[str, Any]) -> Any:
        answer = self.send(infno, input)
        assert answer["infcode"] == 0, answer
        return answer.get("output")

    def person(self, i: int) -> Any:
        return self.people[i]

    def when(self, hour: int = 9) -> str:
        return f"{self.today:%Y-%m-%d} {hour:02d}:00:00"

    def register(self, i: int, number: str, info: bool = True) -> str:
        p = self.person(i)
        out = self.ok("2201", {"data": self.reg_data(i, number)})
        mid = str(out["data"]["mdtrt_id"])
        if info:
            self.ok("2203", {"mdtrtinfo": {"mdtrt_id": mid, "psn_no": p.psn_no, "med_type": "11",
                                           "begntime": self.when(8)}, "diseinfo": []})  # fmt: skip
        return mid

    def reg_data(self, i: int, number: str, **extra: Any) -> dict[str, Any]:
        p = self.person(i)
        return {"psn_no": p.psn_no, "insutype": p.insutype, "begntime": self.when(8),
                "mdtrt_cert_type": "02", "mdtrt_cert_no": p.psn_cert, "ipt_otp_no": number,
                "atddr_no": "D1", "dr_name": "医生", "dept_code": "A", "dept_name": "内科",
                "caty": "A", **extra}  # fmt: skip

    def adm_data(self, i: int, number: str, **extra: Any) -> dict[str, Any]:
        p = self.person(i)
        return {"psn_no": p.psn_no, "insutype": p.insutype, "begntime": self.when(7),
                "mdtrt_cert_type": "02", "mdtrt_cert_no": p.psn_cert, "med_type": "21",
                "ipt_no": number, "atddr_no": "D1", "chfpdr_name": "主任", "adm_dept_codg": "B",
                "adm_dept_name": "外科", **extra}  # fmt: skip

    def line(self, sn: str, mid: str, i: int, code: str = "SV001", cnt: str = "1",
             pric: str = "10.00", **extra: Any) -> dict[str, Any]:  # fmt: skip
        amount = (Decimal(cnt) * Decimal(pric)).quantize(Decimal("0.01"), "ROUND_HALF_UP")
        return {"feedetl_sn": sn, "mdtrt_id": mid, "psn_no": self.person(i).psn_no,
                "fee_ocur_time": self.when(), "med_list_codg": code, "medins_list_codg": "H",
                "det_item_fee_sumamt": str(amount), "cnt": cnt, "pric": pric,
                "bilg_dept_codg": "A", "bilg_dept_name": "内科", "bilg_dr_codg": "D1",
                "bilg_dr_name": "医生", **extra}  # fmt: skip

    def setl(self, i: int, mid: str, total: str, **extra: Any) -> dict[str, Any]:
        p = self.person(i)
        return {"psn_no": p.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": p.psn_cert,
                "med_type": "11", "medfee_sumamt": total, "psn_setlway": "01", "mdtrt_id": mid,
                "acct_used_flag": "0", "insutype": p.insutype, **extra}  # fmt: skip

    def settle(self, i: int, mid: str, total: str, **extra: Any) -> str:
        data = self.setl(i, mid, total, **extra)
        pre = self.ok("2206" if "chrg_bchno" in extra else "2303", {"data": data})
        split = {k: pre["setlinfo"][k] for k in _SPLIT}
        out = self.ok("2207" if "chrg_bchno" in extra else "2304", {"data": {**data, **split}})
        return str(out["setlinfo"]["setl_id"])  # fmt: skip


@pytest.fixture
def desk(open_service: Callable[..., CheckoutService], clock: SetClock) -> Desk:
    service = open_service(
        risk=HIGH_LIMITS,
        terminal={"inst_level": "2"},
        his={"enabled": True, "token": "t", "allow_id_number": True},
    )
    d = Desk(service, clock)
    # V1: settled batch B1; V2: open without visit information; W1: admitted with lines
    d.v1 = d.register(0, "MZ1")
    d.ok("2204", {"feedetail": [d.line("1", d.v1, 0, chrg_bchno="B1", dise_codg="J1")]})
    d.s1 = d.settle(0, d.v1, "10.00", chrg_bchno="B1")
    d.ok("2204", {"feedetail": [d.line("2", d.v1, 0, chrg_bchno="B2")]})
    d.v2 = d.register(1, "MZ2", info=False)
    d.v3 = d.register(2, "MZ3")  # a pharmacy med_type at a level-2 hospital: no scheme applies
    info = {"mdtrt_id": d.v3, "psn_no": d.person(2).psn_no, "med_type": "41", "begntime": d.when(8)}
    d.ok("2203", {"mdtrtinfo": info, "diseinfo": []})
    d.ok("2204", {"feedetail": [d.line("1", d.v3, 2, chrg_bchno="B")]})
    d.w1 = str(
        d.ok("2401", {"mdtrtinfo": d.adm_data(11, "ZY1"), "diseinfo": []})["result"]["mdtrt_id"]
    )
    d.ok("2301", {"feedetail": [d.line("a", d.w1, 11, "SV002", "2", "20.00")]})
    return d


def _rows() -> list[Row]:
    def v(d: Desk, name: str) -> str:
        return str(getattr(d, name))

    return [
        ("not_signed_in", "5201", lambda d: {"data": {"psn_no": "x"}}),
        ("bad_input", "9999", lambda d: {"data": {}}),
        ("cert_not_verified", "1101", lambda d: {"data": {"mdtrt_cert_type": "03",
            "mdtrt_cert_no": "A00000001"}}),
        ("cert_not_verified", "2201", lambda d: {"data": d.reg_data(2, "MZ9",
            mdtrt_cert_type="01", mdtrt_cert_no="00ff")}),
        ("unknown_person", "1101", lambda d: {"data": {"mdtrt_cert_type": "02",
            "mdtrt_cert_no": "110101199003070011"}}),
        ("cert_mismatch", "2201", lambda d: {"data": d.reg_data(2, "MZ9",
            psn_no=d.person(3).psn_no)}),
        ("bad_insutype", "2201", lambda d: {"data": d.reg_data(2, "MZ9", insutype="390")}),
        ("visit_exists", "2201", lambda d: {"data": d.reg_data(2, "MZ1")}),
        ("unknown_visit", "2202", lambda d: {"data": {"mdtrt_id": "OTHER-DEV-V1",
            "psn_no": d.person(0).psn_no, "ipt_otp_no": "MZ1"}}),
        ("has_settlement", "2202", lambda d: {"data": {"mdtrt_id": v(d, "v1"),
            "psn_no": d.person(0).psn_no, "ipt_otp_no": "MZ1"}}),
        ("visit_closed", "2203", lambda d: {"mdtrtinfo": {"mdtrt_id": v(d, "w1"),
            "psn_no": d.person(11).psn_no, "med_type": "11", "begntime": d.when()}}),
        ("bad_med_type", "2203", lambda d: {"mdtrtinfo": {"mdtrt_id": v(d, "v2"),
            "psn_no": d.person(1).psn_no, "med_type": "21", "begntime": d.when()}}),
        ("med_type_locked", "2203", lambda d: {"mdtrtinfo": {"mdtrt_id": v(d, "v1"),
            "psn_no": d.person(0).psn_no, "med_type": "14", "begntime": d.when()}}),
        ("no_visit_info", "2204", lambda d: {"feedetail": [d.line("1", v(d, "v2"), 1,
            chrg_bchno="B")]}),
        ("feedetl_sn_reused", "2204", lambda d: {"feedetail": [d.line("1", v(d, "v1"), 0,
            cnt="2", chrg_bchno="B2")]}),
        ("batch_settled", "2204", lambda d: {"feedetail": [d.line("9", v(d, "v1"), 0,
            chrg_bchno="B1")]}),
        ("dise_mismatch", "2204", lambda d: {"feedetail": [
            d.line("8", v(d, "v1"), 0, chrg_bchno="B3", dise_codg="J1"),
            d.line("9", v(d, "v1"), 0, chrg_bchno="B3", dise_codg="K2")]}),
        ("amount_mismatch", "2204", lambda d: {"feedetail": [{**d.line("9", v(d, "v1"), 0,
            chrg_bchno="B3"), "det_item_fee_sumamt": "10.01"}]}),
        ("bad_input", "2204", lambda d: {"feedetail": [d.line("9", v(d, "v1"), 0,
            chrg_bchno="B3", cnt="1.0001")]}),
        ("bad_input", "2204", lambda d: {"feedetail": [{**d.line("9", v(d, "v1"), 0,
            chrg_bchno="B3"), "det_item_fee_sumamt": "10.001"}]}),
        ("price_above_catalogue", "2204", lambda d: {"feedetail": [d.line("9", v(d, "v1"), 0,
            chrg_bchno="B3", pric="10.50")]}),
        # trace-codes.md "Refusal codes", at upload: the line's codes as codes
        ("bad_trace_format", "2204", lambda d: {"feedetail": [d.line("9", v(d, "v1"), 0,
            chrg_bchno="B3", trac=["not a code!"])]}),
        ("product_barcode_not_trace", "2204", lambda d: {"feedetail": [d.line("9", v(d, "v1"),
            0, chrg_bchno="B3", trac=["6910800000046"])]}),
        ("trace_duplicate_in_sale", "2204", lambda d: {"feedetail": [d.line("9", v(d, "v1"), 0,
            chrg_bchno="B3", cnt="2",
            trac=["83456789012345678901", "83456789012345678901"])]}),
        ("batch_settled", "2205", lambda d: {"data": {"mdtrt_id": v(d, "v1"),
            "chrg_bchno": "B1", "psn_no": d.person(0).psn_no}}),
        ("sum_mismatch", "2303", lambda d: {"data": d.setl(11, v(d, "w1"), "39.99",
            med_type="21", mid_setl_flag="1")}),
        ("empty_batch", "2206", lambda d: {"data": d.setl(0, v(d, "v1"), "0.00",
            chrg_bchno="B1")}),
        ("med_type_mismatch", "2206", lambda d: {"data": d.setl(0, v(d, "v1"), "0.00",
            chrg_bchno="B1", med_type="14")}),
        ("split_mismatch", "2207", lambda d: {"data": d.setl(0, v(d, "v1"), "10.00",
            chrg_bchno="B2", fulamt_ownpay_amt="0.00", overlmt_selfpay="0.00",
            preselfpay_amt="0.00", inscp_scp_amt="0.01")}),
        ("no_scheme", "2206", lambda d: {"data": d.setl(2, v(d, "v3"), "10.00",
            chrg_bchno="B", med_type="41")}),
        ("not_discharged", "2303", lambda d: {"data": d.setl(11, v(d, "w1"), "40.00",
            med_type="21", mid_setl_flag="0")}),
        ("unknown_settlement", "2208", lambda d: {"data": {"setl_id": "nope",
            "mdtrt_id": v(d, "v1"), "psn_no": d.person(0).psn_no}}),
        ("not_this_visit", "2305", lambda d: {"data": {"setl_id": v(d, "s1"),
            "mdtrt_id": v(d, "w1"), "psn_no": d.person(11).psn_no}}),
        ("already_admitted", "2401", lambda d: {"mdtrtinfo": d.adm_data(11, "ZY2"),
            "diseinfo": []}),
        ("bad_med_type", "2401", lambda d: {"mdtrtinfo": d.adm_data(2, "ZY3", med_type="11"),
            "diseinfo": []}),
        ("visit_closed", "2403", lambda d: {"adminfo": {"mdtrt_id": v(d, "v2"),
            "psn_no": d.person(1).psn_no}, "diseinfo": []}),
        ("has_fees", "2404", lambda d: {"data": {"mdtrt_id": v(d, "w1"),
            "psn_no": d.person(11).psn_no}}),
        ("return_exceeds", "2301", lambda d: {"feedetail": [d.line("r", v(d, "w1"), 11,
            "SV002", "-3", "20.00", init_feedetl_sn="a")]}),
        ("unknown_line", "2301", lambda d: {"feedetail": [d.line("r", v(d, "w1"), 11,
            "SV002", "-1", "20.00", init_feedetl_sn="zz")]}),
        ("unknown_line", "2302", lambda d: {"data": {"feedetl_sn": "zz",
            "mdtrt_id": v(d, "w1"), "psn_no": d.person(11).psn_no}}),
        ("no_main_diagnosis", "2402", lambda d: {"dscginfo": {"mdtrt_id": v(d, "w1"),
            "psn_no": d.person(11).psn_no, "endtime": d.when(23)}, "diseinfo": []}),
        ("bad_endtime", "2402", lambda d: {"dscginfo": {"mdtrt_id": v(d, "w1"),
            "psn_no": d.person(11).psn_no, "endtime": "2000-01-01 00:00:00"},
            "diseinfo": [{"maindiag_flag": "1"}]}),
        ("visit_closed", "2405", lambda d: {"data": {"mdtrt_id": v(d, "w1"),
            "psn_no": d.person(11).psn_no}}),
    ]  # fmt: skip


def test_every_refusal_of_the_tables_is_answered_with_its_code_and_changes_nothing(
    desk: Desk,
) -> None:
    before = desk.service.ledger.query("SELECT COUNT(*) AS n FROM his_messages")[0]["n"]
    got = []
    for code, infno, make in _rows():
        opter = "9999" if code == "not_signed_in" else "1001"
        answer = desk.send(infno, make(desk), opter=opter)
        assert answer["err_msg"] if answer["infcode"] == -1 else True
        got.append((code, infno, answer.get("err_code")))
    assert [g for g in got if g[0] != g[2]] == []
    after = desk.service.ledger.query("SELECT COUNT(*) AS n FROM his_messages")[0]["n"]
    assert after == before  # no refusal is stored


def test_a_reused_msgid_with_other_input_is_refused_and_a_refused_msgid_may_be_sent_again(
    desk: Desk,
) -> None:
    p = desk.person(0)
    first = desk.send("5201", {"data": {"psn_no": p.psn_no}}, msgid="same")
    assert first["infcode"] == 0
    line = desk.line("5", desk.v1, 0, chrg_bchno="B4")
    done = desk.send("2204", {"feedetail": [line]}, msgid="once")
    again = desk.send("2204", {"feedetail": [line]}, msgid="once")
    assert done == again
    other = desk.send("2204", {"feedetail": [{**line, "cnt": "2", "det_item_fee_sumamt": "20"}]},
                      msgid="once")  # fmt: skip
    assert other["err_code"] == "msgid_reused"
    bad = desk.send("2204", {"feedetail": [{**line, "feedetl_sn": "6", "cnt": "x"}]}, msgid="r")
    assert bad["err_code"] == "bad_input"
    fixed = desk.send("2204", {"feedetail": [{**line, "feedetl_sn": "6"}]}, msgid="r")
    assert fixed["infcode"] == 0


def test_offline_over_the_limit_a_settlement_is_deferred_and_listed(
    open_service: Callable[..., CheckoutService], clock: SetClock
) -> None:
    service = open_service(
        risk={"offline_max_fund_per_sale": "0.01"},
        terminal={"inst_level": "2"},
        his={"enabled": True, "token": "t", "allow_id_number": True},
    )
    d = Desk(service, clock)
    mid = d.register(0, "MZ1")
    d.ok("2204", {"feedetail": [d.line("1", mid, 0, "SV010", "1", "80.00", chrg_bchno="B")]})
    data = d.setl(0, mid, "80.00", chrg_bchno="B")
    assert d.send("2206", {"data": data})["err_code"] == "offline_limit"  # the risk sentence
    split = {"fulamt_ownpay_amt": "0.00", "overlmt_selfpay": "0.00", "preselfpay_amt": "0.00",
             "inscp_scp_amt": "80.00"}  # fmt: skip
    assert d.send("2207", {"data": {**data, **split}})["err_code"] == "offline_limit"
    deferring = service.config.replace("his", defer_when_offline=True)
    d.desk.config = deferring
    assert d.send("2207", {"data": {**data, **split}})["err_code"] == "deferred"
    pending = his_deferred(service.ledger)
    assert [(p["mdtrt_id"], p["total"]) for p in pending] == [(mid, 8000)]
    clock.advance(minutes=90)
    assert [p["age_s"] for p in pending_settlements(service)] == [5400]
    listed = in_process(Path(service.config.source), "his", "pending")
    assert listed.returncode == 0 and mid in listed.stdout, listed.stderr
    assert "80.00" in listed.stdout and "ago" in listed.stdout  # its age on the real clock


def test_2601_undoes_what_a_message_changed_and_knows_a_message_that_never_arrived(
    desk: Desk,
) -> None:
    p = desk.person(0)
    line = desk.line("7", desk.v1, 0, chrg_bchno="B7")
    assert desk.send("2204", {"feedetail": [line]}, msgid="lines-7")["infcode"] == 0
    data = desk.setl(0, desk.v1, "10.00", chrg_bchno="B7")
    pre = desk.ok("2206", {"data": data})
    fields = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
    split = {k: pre["setlinfo"][k] for k in fields}
    done = desk.send("2207", {"data": {**data, **split}}, msgid="settle-7")
    setl_id = done["output"]["setlinfo"]["setl_id"]
    undo = {"data": {"psn_no": p.psn_no, "omsgid": "settle-7", "oinfno": "2207"}}
    assert desk.ok("2601", undo) == {"found": True, "undone": "2207"}
    info = desk.ok("5203", {"data": {"psn_no": p.psn_no, "setl_id": setl_id, "mdtrt_id": desk.v1}})
    assert info["setlinfo"]["state"] == "reversed"
    lines = {"data": {"psn_no": p.psn_no, "omsgid": "lines-7", "oinfno": "2204"}}
    assert desk.ok("2601", lines) == {"found": True, "undone": "2204"}
    assert desk.send("2206", {"data": data})["err_code"] == "empty_batch"  # line 7 is deleted
    never = {"data": {"psn_no": p.psn_no, "omsgid": "never-sent", "oinfno": "2207"}}
    assert desk.ok("2601", never) == {"found": False}


def test_2601_of_a_2203_or_2403_is_found_and_undoes_nothing(desk: Desk) -> None:
    """his-api.md 2601 undoes "as by 2202/2208/2305/2302/2205/2404/2405": no message undoes a
    2203 or a 2403, so their changes stay and the answer says nothing was undone."""
    p, q = desk.person(1), desk.person(11)
    info = {"mdtrt_id": desk.v2, "psn_no": p.psn_no, "med_type": "11", "begntime": desk.when(8)}
    assert desk.send("2203", {"mdtrtinfo": info, "diseinfo": []}, msgid="info-2")["infcode"] == 0
    change = {"adminfo": {"mdtrt_id": desk.w1, "psn_no": q.psn_no, "adm_bed": "12"},
              "diseinfo": []}  # fmt: skip
    assert desk.send("2403", change, msgid="adm-1")["infcode"] == 0
    for omsgid, oinfno, psn_no in (("info-2", "2203", p), ("adm-1", "2403", q)):
        undo = {"data": {"psn_no": psn_no.psn_no, "omsgid": omsgid, "oinfno": oinfno}}
        assert desk.ok("2601", undo) == {"found": True, "undone": None}
    # the visit information stays: fee lines are taken, the admission is as changed
    line = desk.line("9", desk.v2, 1, chrg_bchno="B9")
    assert desk.ok("2204", {"feedetail": [line]})["result"][0]["feedetl_sn"] == "9"
    admitted = his_visit(desk.service.ledger, desk.w1)
    assert admitted is not None and (admitted["state"], admitted["adm_bed"]) == ("admitted", "12")


def test_a_settlement_reads_its_unsettled_lines_in_one_query_in_the_order_they_came(
    desk: Desk,
) -> None:
    q = desk.person(11)
    returned = desk.line("r", desk.w1, 11, "SV002", "-1", "20.00", init_feedetl_sn="a")
    desk.ok("2301", {"feedetail": [desk.line("b", desk.w1, 11, "SV001"), returned]})
    desk.ok("2302", {"data": {"feedetl_sn": "b", "mdtrt_id": desk.w1, "psn_no": q.psn_no}})
    full = his_unsettled_lines(desk.service.ledger, desk.w1)
    assert [(ln.feedetl_sn, ln.cnt, ln.fee_ocur_time) for ln in full] == [
        ("a", "2", desk.when()),
        ("r", "-1", desk.when()),
    ]
    # a pre-settlement reads what the engine reads of the same lines, and only that
    lean = his_presettle_lines(desk.service.ledger, desk.w1)
    assert sorted(lean.lines, key=str) == sorted(
        [(ln.med_list_codg, ln.cnt, ln.pric, ln.det_item_fee_sumamt, ln.init_feedetl_sn)
         for ln in full], key=str)  # fmt: skip
    assert [n[0] for n in lean.named] == ["a"]  # the line the return names, by its key
    assert his_unsettled_lines(desk.service.ledger, desk.v1, bchno="B1") == []  # settled
    assert [ln.feedetl_sn for ln in his_unsettled_lines(desk.service.ledger, desk.v1,
                                                        bchno="B2")] == ["2"]  # fmt: skip


def test_a_registration_finds_an_open_visit_of_its_number_by_index(desk: Desk) -> None:
    """Outpatient visits stay open after they settle: the check for another open visit of the
    same outpatient number must not read them all (migration m0013)."""
    seen: list[str] = []
    conn = desk.service.ledger.conn
    conn.set_trace_callback(seen.append)
    try:
        assert desk.send("2201", {"data": desk.reg_data(1, "MZ-index")})["infcode"] == 0
    finally:
        conn.set_trace_callback(None)
    lookup = next(sql for sql in seen if "FROM his_visits WHERE" in sql and "ipt_otp_no" in sql)
    plan = " ".join(str(row[3]) for row in conn.execute("EXPLAIN QUERY PLAN " + lookup))
    assert "his_visits_number" in plan, plan


def test_lines_change_state_by_key_in_statements_of_500(desk: Desk) -> None:
    ledger = desk.service.ledger
    lines = [dict.fromkeys(HIS_LINE_COLUMNS, None) | {
        "mdtrt_id": "X1", "feedetl_sn": str(i), "seq": i, "med_list_codg": "SV001", "cnt": "1",
        "pric": "1", "det_item_fee_sumamt": 100, "fee_ocur_time": desk.when(), "state": "unsettled",
        "body": {}} for i in range(1201)]  # fmt: skip
    with ledger.write() as unit:
        insert_his_lines(ledger, lines)
        set_his_lines(ledger, "X1", [str(i) for i in range(1, 1201)], "settled", "S1")
        unit.commit()
    states = {(r["state"], r["setl_id"]) for r in his_line_rows(ledger, "X1", sns=["0"])}
    assert states == {("unsettled", None)}  # the one not named
    assert {(r["state"], r["setl_id"]) for r in his_line_rows(ledger, "X1")[1:]} == {
        ("settled", "S1")
    }


def test_a_hotlisted_person_is_refused_at_the_person_query_and_at_settlement(desk: Desk) -> None:
    p = desk.person(0)
    query = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": p.psn_cert}}
    assert desk.ok("1101", query)["baseinfo"]["certno"] == p.psn_cert
    desk.ok("2204", {"feedetail": [desk.line("3", desk.v1, 0, chrg_bchno="B3")]})
    pre = desk.ok("2206", {"data": desk.setl(0, desk.v1, "10.00", chrg_bchno="B3")})
    conn = desk.service.ledger.conn  # the platform's hotlist arrives (as a sync stores it)
    conn.execute(
        "UPDATE refdata SET version = version + 1, body = ? WHERE kind = 'hotlist'",
        (f'{{"entries": [{{"kind": "psn_cert", "value": "{p.psn_cert}", "reason": "x"}}]}}',),
    )
    conn.commit()
    refused = desk.send("1101", query)
    assert (refused["infcode"], refused["err_code"]) == (-1, "hotlisted")
    assert "do not settle on insurance" in refused["err_msg"]
    split = {k: pre["setlinfo"][k] for k in _SPLIT}
    data = {**desk.setl(0, desk.v1, "10.00", chrg_bchno="B3"), **split}
    refused = desk.send("2207", {"data": data})
    assert (refused["infcode"], refused["err_code"]) == (-1, "hotlisted")
    assert his_unsettled_lines(desk.service.ledger, desk.v1, bchno="B3")  # nothing settled
