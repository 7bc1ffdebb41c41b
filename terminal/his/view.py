"""What the billing desk page shows (his-api.md "The desk page"): visits by state, a visit's lines,
batches and settlements, and the deferred settlements with their age; and the page's actions as
messages to the desk itself, so the page and the HIS take the very same path."""

from __future__ import annotations

import json
import uuid
from typing import Any

from terminal.his.desk import HisDesk
from terminal.his.pending import pending_settlements
from terminal.ledger.his import his_line_rows, his_settlements, his_visit, his_visits
from terminal.settlement.money import format_fen

__all__ = ["desk_action", "desk_view"]

STATES = ("open", "admitted", "discharged", "settled", "cancelled")
_SPLIT = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")


def desk_view(desk: HisDesk, mdtrt_id: str = "") -> dict[str, Any]:
    """The page's data: visits by state, deferred settlements, and the chosen visit."""
    ledger = desk.ledger
    visits = his_visits(ledger, limit=200)
    by_state = {s: [v for v in visits if v["state"] == s] for s in STATES}
    chosen = his_visit(ledger, mdtrt_id) if mdtrt_id else None
    detail: dict[str, Any] = {}
    if chosen is not None:
        lines = his_line_rows(ledger, mdtrt_id)
        batches: dict[str, list[dict[str, Any]]] = {}
        for line in lines:
            batches.setdefault(line["chrg_bchno"] or "", []).append(line)
        unsettled = [ln for ln in lines if ln["state"] == "unsettled"]
        detail = {
            "visit": chosen,
            "lines": lines,
            "batches": {
                b: {
                    "total": sum(
                        ln["det_item_fee_sumamt"] for ln in rows if ln["state"] != "deleted"
                    ),
                    "unsettled": [ln for ln in rows if ln["state"] == "unsettled"],
                }
                for b, rows in batches.items()
            },
            "unsettled_total": sum(ln["det_item_fee_sumamt"] for ln in unsettled),
            "settlements": his_settlements(ledger, mdtrt_id),
        }
    return {"by_state": by_state, "pending": pending_settlements(desk.service), **detail}


def _send(desk: HisDesk, infno: str, opter: str, input: dict[str, Any]) -> dict[str, Any]:
    env = {"infno": infno, "msgid": f"desk-{uuid.uuid4().hex[:24]}", "opter": opter,
           "input": input}  # fmt: skip
    _, body = desk.call(json.dumps(env).encode())
    answer: dict[str, Any] = json.loads(body)
    return answer


def desk_action(
    desk: HisDesk, action: str, opter: str, mdtrt_id: str, chrg_bchno: str = "",
    mid_setl_flag: str = "0", setl_id: str = "",
) -> dict[str, Any]:  # fmt: skip
    """Pre-settle, settle or reverse a visit from the page: the answer of the last message."""
    visit = his_visit(desk.ledger, mdtrt_id)
    if visit is None:
        return {"infcode": -1, "err_code": "unknown_visit", "err_msg": f"no visit {mdtrt_id}"}
    outpatient = visit["kind"] == "outpatient"
    base = {"psn_no": visit["psn_no"], "mdtrt_id": mdtrt_id}
    if action == "reverse":
        return _send(desk, "2208" if outpatient else "2305", opter, {"data": {**base,
                     "setl_id": setl_id}})  # fmt: skip
    lines = his_line_rows(desk.ledger, mdtrt_id, state="unsettled", with_body=False)
    if outpatient:
        lines = [ln for ln in lines if ln["chrg_bchno"] == chrg_bchno]
    data = {
        **base,
        "mdtrt_cert_type": visit["mdtrt_cert_type"],
        "mdtrt_cert_no": visit["mdtrt_cert_no"],
        "med_type": visit["med_type"],
        "medfee_sumamt": format_fen(sum(ln["det_item_fee_sumamt"] for ln in lines)),
        "psn_setlway": "01",
        "acct_used_flag": "0",
        "insutype": visit.get("insutype"),
    }
    if outpatient:
        data["chrg_bchno"] = chrg_bchno
    else:
        data["mid_setl_flag"] = mid_setl_flag
    pre = _send(desk, "2206" if outpatient else "2303", opter, {"data": data})
    if action == "presettle" or pre.get("infcode") != 0:
        return pre
    split = {k: pre["output"]["setlinfo"][k] for k in _SPLIT}
    return _send(desk, "2207" if outpatient else "2304", opter, {"data": {**data, **split}})
