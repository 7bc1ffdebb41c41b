"""A hospital desk's settlement (his-api.md "What is uploaded") reaches a real hub on loopback and
is accepted: the upload carries the visit's and the lines' own fields, the platform stores the
visit with the entry and shows it in 3202 detail, and `medpos ledger verify` holds."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from terminal.bootstrap import open_terminal
from terminal.checkout.operators import sign_session
from terminal.config import load_config
from terminal.demo import demo_people
from terminal.his import build_desk
from tests.conftest import HIGH_LIMITS
from tests.integration.sync.conftest import Platform, medpos


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_a_visit_settlement_is_uploaded_with_its_visit_and_accepted(
    platform: Platform, make_config: Callable[..., Path]
) -> None:
    config = make_config(
        "desk.toml",
        risk=HIGH_LIMITS,
        terminal={"inst_level": "2"},
        platform={"url": platform.url, "batch_size": 50, "retry_base_s": 0.01},
        his={"enabled": True, "token": "t", "allow_id_number": True},
    )
    assert medpos(config, "enrol", "--code", platform.enrol_code()).returncode == 0
    assert medpos(config, "sync", "--once").returncode == 0
    service = open_terminal(load_config(config))
    try:
        sign_session(service, "1001", "收费员", True)
        desk = build_desk(service)
        n = iter(range(1, 100))

        def ok(infno: str, input: dict[str, Any]) -> Any:
            env = {"infno": infno, "msgid": f"h{next(n)}", "opter": "1001", "input": input}
            status, body = desk.call(json.dumps(env).encode())
            answer = json.loads(body)
            assert status == 200 and answer["infcode"] == 0, answer
            return answer.get("output")

        today = service.local_now()
        p = demo_people(today.date())[0]
        cert = {"mdtrt_cert_type": "02", "mdtrt_cert_no": p.psn_cert}
        mid = ok("2201", {"data": {"psn_no": p.psn_no, "insutype": p.insutype, **cert,
                 "begntime": f"{today:%Y-%m-%d} 08:00:00", "ipt_otp_no": "MZ-H1",
                 "atddr_no": "D1", "dr_name": "医生", "dept_code": "A", "dept_name": "内科",
                 "caty": "A"}})["data"]["mdtrt_id"]  # fmt: skip
        ok("2203", {"mdtrtinfo": {"mdtrt_id": mid, "psn_no": p.psn_no, "med_type": "11",
                                  "begntime": f"{today:%Y-%m-%d} 08:00:00"},
                    "diseinfo": [{"diag_code": "J06.9", "diag_name": "上呼吸道感染"}]})  # fmt: skip
        line = {"feedetl_sn": "1", "mdtrt_id": mid, "psn_no": p.psn_no, "chrg_bchno": "B1",
                "fee_ocur_time": f"{today:%Y-%m-%d} 08:30:00", "med_list_codg": "SV010",
                "medins_list_codg": "H", "det_item_fee_sumamt": "160.00", "cnt": "2",
                "pric": "80.00", "bilg_dept_codg": "A", "bilg_dept_name": "内科",
                "bilg_dr_codg": "D1", "bilg_dr_name": "医生"}  # fmt: skip
        ok("2204", {"feedetail": [line]})
        data = {"psn_no": p.psn_no, **cert, "med_type": "11", "medfee_sumamt": "160.00",
                "psn_setlway": "01", "mdtrt_id": mid, "chrg_bchno": "B1",
                "acct_used_flag": "0", "insutype": p.insutype}  # fmt: skip
        pre = ok("2206", {"data": data})
        fields = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
        split = {k: pre["setlinfo"][k] for k in fields}
        setl_id = ok("2207", {"data": {**data, **split}})["setlinfo"]["setl_id"]
        upload = service.ledger.upload_input(setl_id)
        assert upload["claim"]["visit"]["mdtrt_id"] == mid
        assert upload["claim"]["basket"][0]["feedetl_sn"] == "1"
    finally:
        service.ledger.close()
    assert medpos(config, "sync", "--once").returncode == 0
    status, visit = platform.scalars(
        f"SELECT status, visit FROM entries WHERE txn_id = '{setl_id}'"
    )
    assert status == "accepted"
    assert json.loads(visit)["mdtrt_id"] == mid and json.loads(visit)["kind"] == "outpatient"
    assert medpos(config, "ledger", "verify").returncode == 0
