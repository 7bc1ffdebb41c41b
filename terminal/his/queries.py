"""Answered locally, offline too (his-api.md): 1101 person query, 5201/5203/5204, and 2601
(an answer the HIS never received)."""

from __future__ import annotations

from datetime import date
from typing import Any

from terminal.his.desk import Call, HisDesk
from terminal.his.lines import delete_lines, line_results
from terminal.his.refusal import HisRefused
from terminal.his.settling import reverse
from terminal.his.visits import cancel_visit, proven_person, text, undischarge, visit_for
from terminal.identity.hotlist import hotlist_match
from terminal.ledger.his import his_line_rows, his_message, his_settlement, his_visits
from terminal.settlement import age_on, birth_date

__all__ = ["HANDLERS", "QUERIES", "visit_summary"]


def _person(desk: HisDesk, call: Call) -> dict[str, Any]:  # 1101
    data = call.data()
    cert_type = text(data, "mdtrt_cert_type", "input.data") or ""
    cert_no = text(data, "mdtrt_cert_no", "input.data") or ""
    cached = proven_person(desk, call, cert_type, cert_no)
    p = cached["person"]
    if hotlist_match(desk.service.hotlist(), card_no=cached.get("card_no"), card_sn=None,
                     psn_cert=p["psn_cert"]) is not None:  # fmt: skip
        raise HisRefused(
            "hotlisted",
            "this person or card is blocked by the platform: do not settle on insurance; ask "
            "the patient to contact the insurance office",
        )
    born = birth_date(p["psn_cert"])
    today = call.now.date()
    acc = desk.ledger.accumulators(p["psn_cert"], today.year) or {}
    return {
        "baseinfo": {
            "psn_no": p.get("psn_no"),
            "psn_cert_type": "01",
            "certno": p["psn_cert"],
            "psn_name": cached["name"],
            "gend": "1" if int(p["psn_cert"][16]) % 2 else "2",
            "brdy": born.isoformat() if isinstance(born, date) else None,
            "age": age_on(p["psn_cert"], today),
        },
        "insuinfo": [
            {
                "insutype": p["insutype"],
                "psn_type": p["psn_type"],
                "balc": acc.get("acct_balance", "0.00"),
                "insuplc_admdvs": p["insuplc_admdvs"],
                "psn_insu_stas": "1",
            }
        ],
    }


def visit_summary(visit: dict[str, Any]) -> dict[str, Any]:
    keys = ("mdtrt_id", "psn_no", "kind", "ipt_otp_no", "med_type", "insutype", "begntime",
            "endtime", "mdtrt_cert_type", "mdtrt_cert_no", "state", "diseinfo")  # fmt: skip
    return {k: visit.get(k) for k in keys}


def _visits(desk: HisDesk, call: Call) -> dict[str, Any]:  # 5201
    data = call.data()
    psn_no = text(data, "psn_no", "input.data")
    begin, end = data.get("begntime"), data.get("endtime")
    out = []
    for v in his_visits(desk.ledger, psn_no=psn_no):
        if isinstance(begin, str) and str(v.get("begntime", "")) < begin:
            continue
        if isinstance(end, str) and str(v.get("begntime", "")) > end:
            continue
        out.append(visit_summary(v))
    return {"mdtrtinfo": out}


def _settlement_of(desk: HisDesk, call: Call) -> dict[str, Any]:
    data = call.data()
    visit = visit_for(desk, call, data.get("mdtrt_id"), data.get("psn_no"))
    setl_id = text(data, "setl_id", "input.data") or ""
    found = his_settlement(desk.ledger, setl_id)
    if found is None or found["mdtrt_id"] != visit["mdtrt_id"]:
        raise HisRefused(
            "unknown_settlement", f"no settlement {setl_id} of visit {visit['mdtrt_id']} here"
        )
    return {**found, "visit": visit}


def _setlinfo(desk: HisDesk, call: Call) -> dict[str, Any]:  # 5203
    found = _settlement_of(desk, call)
    return {"setlinfo": {**found["output"]["setlinfo"], "state": found["state"]}}


def _fees(desk: HisDesk, call: Call) -> dict[str, Any]:  # 5204
    found = _settlement_of(desk, call)
    visit = found["visit"]
    rows = [r for r in his_line_rows(desk.ledger, visit["mdtrt_id"])
            if r["setl_id"] == found["setl_id"]]  # fmt: skip
    day = date.fromisoformat(found["at"][:10])
    results = line_results(desk, visit, rows, day)
    return {"feedetail": [{**r["body"], **res} for r, res in zip(rows, results, strict=True)]}


def _undo(desk: HisDesk, call: Call) -> dict[str, Any]:  # 2601
    data = call.data()
    omsgid = text(data, "omsgid", "input.data") or ""
    stored = his_message(desk.ledger, omsgid)
    if stored is None:
        return {"found": False}
    undo = stored["undo"]
    oinfno = data.get("oinfno", stored["infno"])
    if undo is None:
        return {"found": True, "undone": None}
    visit = visit_for(desk, call, undo["mdtrt_id"])
    op = undo["op"]
    if op == "reverse":
        settled = his_settlement(desk.ledger, undo["setl_id"])
        if settled is not None and settled["state"] == "settled":
            reverse(desk, call, visit["mdtrt_id"], undo["setl_id"], "2601")
    elif op == "cancel":
        cancel_visit(desk, call, visit)
    elif op == "undischarge":
        if visit["state"] == "discharged":
            undischarge(desk, call, visit)
    elif op == "delete_lines":
        live = {r["feedetl_sn"] for r in his_line_rows(desk.ledger, visit["mdtrt_id"])
                if r["state"] == "unsettled"}  # fmt: skip
        delete_lines(desk, call, visit, [sn for sn in undo["lines"] if sn in live], None)
    call.changes.update(undone=omsgid)
    return {"found": True, "undone": oinfno}


HANDLERS = {
    "1101": _person,
    "5201": _visits,
    "5203": _setlinfo,
    "5204": _fees,
    "2601": _undo,
}
QUERIES = frozenset({"1101", "5201", "5203", "5204"})
