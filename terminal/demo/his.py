"""`python -m terminal.demo his`: a demo hospital system driving the terminal that `make run`
started, through the HIS API only (his-api.md): one outpatient visit and one inpatient stay.

It takes the person identified at the terminal in the last `[his] cert_max_age_s`, or waits for
a card read or e-card scan (`GET /his/v1/identity?wait_s=60`: use the demo box of the page),
signs the demo cashier in, and prints each message and answer.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from terminal.config import Config

__all__ = ["run_demo_his"]

_SPLIT = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")


class _His:
    def __init__(self, url: str, token: str, opter: str) -> None:
        self.url, self.token, self.opter = url, token, opter
        self.n = 0
        self.stamp = datetime.now().strftime("%H%M%S")

    def _open(self, request: urllib.request.Request, timeout: float) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
                return answer.status, json.loads(answer.read(), parse_float=Decimal)
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def call(self, infno: str, input: dict[str, Any]) -> dict[str, Any]:
        self.n += 1
        env = {"infno": infno, "msgid": f"demo{self.stamp}{self.n:04d}", "opter": self.opter,
               "input": input}  # fmt: skip
        request = urllib.request.Request(  # noqa: S310 (the terminal's own URL)
            self.url + "/his/v1/call",
            data=json.dumps(env, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        status, answer = self._open(request, 30)
        shown = answer.get("output") if answer.get("infcode") == 0 else answer.get("err_msg")
        print(f"{infno}  -> {answer.get('infcode', status)}  {_short(shown)}")
        if answer.get("infcode") != 0:
            raise SystemExit(f"{infno} refused: {answer.get('err_code')}: {answer.get('err_msg')}")
        return dict(answer.get("output") or {})

    def identity(self) -> dict[str, Any]:
        """The person identified at the terminal: the latest within `cert_max_age_s`, or else
        the next one, waited for up to 60 s."""
        for query, timeout in (("", 10), ("?wait_s=60", 70)):
            if query:
                print("read a demo card (or scan an e-card) at the terminal's page: waiting 60 s")
            request = urllib.request.Request(  # noqa: S310
                self.url + "/his/v1/identity" + query,
                headers={"Authorization": f"Bearer {self.token}"},
            )
            status, body = self._open(request, timeout)
            if status == 200:
                return dict(body)
        raise SystemExit("no card was read and no e-card scanned at the terminal in 60 s")


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


def _line(sn: str, mid: str, psn_no: str, code: str, cnt: str, pric: str, when: datetime,
          **extra: str) -> dict[str, Any]:  # fmt: skip
    amount = (Decimal(cnt) * Decimal(pric)).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    return {"feedetl_sn": sn, "mdtrt_id": mid, "psn_no": psn_no,
            "fee_ocur_time": f"{when:%Y-%m-%d %H:%M:%S}", "med_list_codg": code,
            "medins_list_codg": "H-" + code, "det_item_fee_sumamt": str(amount), "cnt": cnt,
            "pric": pric, "bilg_dept_codg": "A01", "bilg_dept_name": "内科",
            "bilg_dr_codg": "D001", "bilg_dr_name": "王医生", **extra}  # fmt: skip


def _settle(his: _His, pre_no: str, no: str, data: dict[str, Any]) -> dict[str, Any]:
    pre = his.call(pre_no, {"data": data})
    split = {k: pre["setlinfo"][k] for k in _SPLIT}
    return his.call(no, {"data": {**data, **split}})


def run_demo_his(config: Config, url: str, token: str, opter: str = "1001") -> int:
    """One outpatient visit and one inpatient stay against the terminal at `url`."""
    his = _His(url, token, opter)
    who = his.identity()
    cert = {"mdtrt_cert_type": who["mdtrt_cert_type"], "mdtrt_cert_no": who["mdtrt_cert_no"]}
    person = his.call("1101", {"data": cert})
    base, insu = person["baseinfo"], person["insuinfo"][0]
    psn_no, insutype = base["psn_no"], insu["insutype"]
    now = datetime.now(config.tz)
    # outpatient: register, visit information, two fee lines, pre-settle, settle
    mid = his.call("2201", {"data": {
        "psn_no": psn_no, "insutype": insutype, "begntime": f"{now:%Y-%m-%d %H:%M:%S}", **cert,
        "ipt_otp_no": f"MZ{his.stamp}", "atddr_no": "D001", "dr_name": "王医生",
        "dept_code": "A01", "dept_name": "内科", "caty": "A01"}})["data"]["mdtrt_id"]  # fmt: skip
    med_type = "11" if config.terminal.inst_level != "pharmacy" else "41"
    his.call("2203", {"mdtrtinfo": {"mdtrt_id": mid, "psn_no": psn_no, "med_type": med_type,
                                    "begntime": f"{now:%Y-%m-%d %H:%M:%S}"},
                      "diseinfo": []})  # fmt: skip
    lines = [_line("1", mid, psn_no, "XJ01CA0001", "2", "8.50", now, chrg_bchno="1"),
             _line("2", mid, psn_no, "XJ01CR0003", "1", "18.60", now, chrg_bchno="1")]  # fmt: skip
    his.call("2204", {"feedetail": lines})
    total = sum(Decimal(ln["det_item_fee_sumamt"]) for ln in lines)
    data = {"psn_no": psn_no, **cert, "med_type": med_type, "medfee_sumamt": str(total),
            "psn_setlway": "01", "mdtrt_id": mid, "chrg_bchno": "1", "acct_used_flag": "0",
            "insutype": insutype}  # fmt: skip
    _settle(his, "2206", "2207", data)
    if config.terminal.inst_level == "pharmacy":
        print("this terminal is a pharmacy ([terminal] inst_level): no inpatient scheme applies;"
              " run with MEDPOS_TERMINAL__INST_LEVEL=2 to see an inpatient stay")  # fmt: skip
        return 0
    # inpatient: admit two days ago, fees over two days with a return, discharge, settle
    begin = now - timedelta(days=2)
    wid = his.call("2401", {"mdtrtinfo": {
        "psn_no": psn_no, "insutype": insutype, "begntime": f"{begin:%Y-%m-%d %H:%M:%S}", **cert,
        "med_type": "21", "ipt_no": f"ZY{his.stamp}", "atddr_no": "D002",
        "chfpdr_name": "李主任", "adm_dept_codg": "B02", "adm_dept_name": "外科"},
        "diseinfo": []})["result"]["mdtrt_id"]  # fmt: skip
    stay = [_line("d1", wid, psn_no, "SV010", "1", "80.00", begin),
            _line("d2", wid, psn_no, "XJ01CR0003", "4", "18.60", begin + timedelta(days=1)),
            _line("d3", wid, psn_no, "XJ01CR0003", "-1", "18.60", begin + timedelta(days=1),
                  init_feedetl_sn="d2")]  # fmt: skip
    # (drugs from their no-code stock, trace-codes.md: the demo scans no traceability codes)
    his.call("2301", {"feedetail": stay})
    his.call("2402", {"dscginfo": {"mdtrt_id": wid, "psn_no": psn_no, "insutype": insutype,
                                   "endtime": f"{now:%Y-%m-%d %H:%M:%S}",
                                   "dscg_dept_codg": "B02", "dscg_dept_name": "外科",
                                   "dscg_way": "1"},
                      "diseinfo": [{"maindiag_flag": "1", "diag_code": "K35.8",
                                    "diag_name": "急性阑尾炎"}]})  # fmt: skip
    total = sum(Decimal(ln["det_item_fee_sumamt"]) for ln in stay)
    _settle(his, "2303", "2304", {**data, "mdtrt_id": wid, "med_type": "21",
                                  "medfee_sumamt": str(total), "mid_setl_flag": "0"})  # fmt: skip
    return 0
