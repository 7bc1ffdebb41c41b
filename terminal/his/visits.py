"""Visits (his-api.md "Visits"): registration and admission, visit information, discharge and
the cancellations, as states of a visit stored in the ledger (`terminal/ledger/his.py`).

Outpatient: `open` → `cancelled`. Inpatient: `admitted` → `discharged` → `settled`; `cancelled`.
"""

from __future__ import annotations

from typing import Any

from terminal.his.desk import Call, HisDesk, kind_of_med_type
from terminal.his.refusal import HisRefused
from terminal.ledger.his import (
    his_line_rows,
    his_settlements,
    his_visit,
    his_visits,
    insert_his_visit,
    update_his_visit,
)
from terminal.ledger.his_desk import his_identification

__all__ = ["HANDLERS", "load_visit", "proven_person", "text", "visit_for"]

OPEN_STATES = ("open", "admitted", "discharged")


def text(data: dict[str, Any], key: str, where: str, *, optional: bool = False) -> str | None:
    """A string field of the message, `bad_input` naming it when missing or of another type."""
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise HisRefused("bad_input", f"{where}.{key}: missing or not a string; send it as text")
    return value


def proven_person(desk: HisDesk, call: Call, cert_type: str, cert_no: str) -> dict[str, Any]:
    """The cached person a card, e-card or (where allowed) ID number identified at this terminal
    within `[his] cert_max_age_s`: `cert_not_verified`, `unknown_person` otherwise."""
    his = desk.config.his
    if cert_type in ("01", "03"):
        since = desk.service.clock.now().timestamp() - his.cert_max_age_s
        found = his_identification(desk.ledger, since_s=since, cert=(cert_type, cert_no))
        if found is not None and cert_type == "03" and "psam_auth" not in found["checks"]:
            found = None  # a card counts only when the PSAM authenticated it
        if found is None:
            what = "card" if cert_type == "03" else "e-card code"
            raise HisRefused(
                "cert_not_verified",
                f"this {what} ({cert_no}) was not read at this terminal in the last "
                f"{his.cert_max_age_s} s: read the card (or scan the e-card) here, then send again",
            )
        psn_cert = str(found["certno"])
    elif cert_type == "02":
        if not his.allow_id_number:
            raise HisRefused(
                "cert_not_verified",
                "an ID number typed in is not accepted as identity at this terminal: read the "
                "patient's card or scan their e-card here, then send again",
            )
        psn_cert = cert_no
    else:
        raise HisRefused("bad_input", f"mdtrt_cert_type {cert_type!r}: 01, 02 or 03")
    cached = desk.ledger.get_person(psn_cert)
    if cached is None:
        raise HisRefused(
            "unknown_person",
            "this person is not in the terminal's person list: sync with the platform "
            "(or settle the visit as self-pay outside the HIS)",
        )
    return cached


def visit_for(desk: HisDesk, call: Call, mdtrt_id: Any, psn_no: Any = None) -> dict[str, Any]:
    """The visit a message names: `unknown_visit` when it is another terminal's or unknown."""
    if not isinstance(mdtrt_id, str) or not mdtrt_id:
        raise HisRefused("bad_input", "mdtrt_id: missing or not a string")
    visit = his_visit(desk.ledger, mdtrt_id)
    if visit is None:
        owner, sep, _ = mdtrt_id.rpartition("-V")
        if sep and owner != desk.config.terminal.dev_no:
            raise HisRefused(
                "unknown_visit",
                f"visit {mdtrt_id} belongs to terminal {owner}: send its messages to that terminal",
            )
        raise HisRefused("unknown_visit", f"no visit {mdtrt_id} at this terminal: check mdtrt_id")
    if psn_no is not None and psn_no != visit["psn_no"]:
        raise HisRefused(
            "cert_mismatch", f"visit {mdtrt_id} is of person {visit['psn_no']}, not {psn_no}"
        )
    return visit


def load_visit(desk: HisDesk, call: Call, key: str = "data") -> dict[str, Any]:
    data = call.data(key)
    return visit_for(desk, call, data.get("mdtrt_id"), data.get("psn_no"))


def _save(desk: HisDesk, call: Call, visit: dict[str, Any], what: str) -> None:
    update_his_visit(desk.ledger, visit, call.stamp)
    call.changes.update(mdtrt_id=visit["mdtrt_id"], change=what, state=visit["state"])


def _open_visit(desk: HisDesk, call: Call, data: dict[str, Any], kind: str) -> dict[str, Any]:
    where = "input.data" if kind == "outpatient" else "input.mdtrtinfo"
    psn_no = text(data, "psn_no", where)
    cert_type = text(data, "mdtrt_cert_type", where)
    cert_no = text(data, "mdtrt_cert_no", where)
    insutype = text(data, "insutype", where)
    number = text(data, "ipt_otp_no" if kind == "outpatient" else "ipt_no", where)
    begntime = text(data, "begntime", where)
    assert cert_type and cert_no and psn_no and number and insutype and begntime
    cached = proven_person(desk, call, cert_type, cert_no)
    person = cached["person"]
    if person.get("psn_no") != psn_no:
        raise HisRefused(
            "cert_mismatch",
            f"the card or e-card read is of person {person.get('psn_no')}, not psn_no "
            f"{psn_no}: check the patient and the card",
        )
    if insutype != person["insutype"]:
        raise HisRefused(
            "bad_insutype",
            f"insutype {insutype} is not this person's insurance ({person['insutype']}): "
            "send the person's own insutype (1101 shows it)",
        )
    med_type = "11"
    if kind == "inpatient":
        med_type = text(data, "med_type", where) or ""
        check_med_type(desk, med_type, "inpatient")
        pending = his_visits(desk.ledger, states=("admitted", "discharged"), psn_no=psn_no)
        if pending:
            raise HisRefused(
                "already_admitted",
                f"this person already has visit {pending[0]['mdtrt_id']} admitted or discharged "
                "and not settled here: settle or cancel it first",
            )
    else:
        same = his_visits(desk.ledger, states=("open",), ipt_otp_no=number)
        if same:
            raise HisRefused(
                "visit_exists",
                f"outpatient number {number} already has open visit {same[0]['mdtrt_id']}: "
                "use that mdtrt_id, or cancel it (2202) first",
            )
    n = call.work.next_counter("his_visit_n")
    mdtrt_id = f"{desk.config.terminal.dev_no}-V{n}"
    extra = {k: v for k, v in data.items() if k not in ("ipt_no",)}
    visit: dict[str, Any] = {
        **extra,
        "mdtrt_id": mdtrt_id,
        "kind": kind,
        "psn_no": psn_no,
        "psn_cert": person["psn_cert"],
        "ipt_otp_no": number,
        "med_type": med_type,
        "state": "open" if kind == "outpatient" else "admitted",
        "diseinfo": call.input.get("diseinfo") or [],
        "card_sn": data.get("card_sn"),
        "has_info": kind == "inpatient",
    }
    insert_his_visit(desk.ledger, n, visit, call.stamp)
    call.changes.update(mdtrt_id=mdtrt_id, change="opened", state=visit["state"])
    call.undo = {"op": "cancel", "mdtrt_id": mdtrt_id}
    return visit


def check_med_type(desk: HisDesk, med_type: str, kind: str) -> None:
    if kind_of_med_type(med_type) != kind or med_type not in desk.policy_med_types()[kind]:
        raise HisRefused(
            "bad_med_type",
            f"med_type {med_type} is not one a {kind} scheme of the policy names: send the "
            f"{kind} med_type of the visit",
        )


def _register(desk: HisDesk, call: Call) -> dict[str, Any]:  # 2201
    visit = _open_visit(desk, call, call.data(), "outpatient")
    return {"data": {k: visit[k] for k in ("mdtrt_id", "psn_no", "ipt_otp_no")}}


def _admit(desk: HisDesk, call: Call) -> dict[str, Any]:  # 2401
    visit = _open_visit(desk, call, call.data("mdtrtinfo"), "inpatient")
    return {"result": {"mdtrt_id": visit["mdtrt_id"]}}


def live_settlements(desk: HisDesk, mdtrt_id: str) -> list[dict[str, Any]]:
    return [s for s in his_settlements(desk.ledger, mdtrt_id) if s["state"] == "settled"]


def cancel_visit(desk: HisDesk, call: Call, visit: dict[str, Any]) -> None:
    if visit["state"] == "cancelled":
        return
    if live_settlements(desk, visit["mdtrt_id"]):
        raise HisRefused(
            "has_settlement",
            f"visit {visit['mdtrt_id']} has a settlement not reversed: reverse it first",
        )
    if visit["kind"] == "inpatient" and any(
        line["state"] != "deleted" for line in his_line_rows(desk.ledger, visit["mdtrt_id"])
    ):
        raise HisRefused(
            "has_fees",
            f"visit {visit['mdtrt_id']} has fee lines: delete them (2302) before cancelling",
        )
    visit["state"] = "cancelled"
    _save(desk, call, visit, "cancelled")


def _cancel(desk: HisDesk, call: Call) -> None:  # 2202, 2404
    cancel_visit(desk, call, load_visit(desk, call))


def _must_be(visit: dict[str, Any], *states: str) -> None:
    if visit["state"] not in states:
        raise HisRefused(
            "visit_closed",
            f"visit {visit['mdtrt_id']} is {visit['state']}: this message needs it "
            f"{' or '.join(states)}",
        )


def _visit_info(desk: HisDesk, call: Call) -> None:  # 2203
    info = call.data("mdtrtinfo")
    visit = visit_for(desk, call, info.get("mdtrt_id"), info.get("psn_no"))
    _must_be(visit, "open")
    med_type = text(info, "med_type", "input.mdtrtinfo") or ""
    check_med_type(desk, med_type, "outpatient")
    if med_type != visit["med_type"] and his_settlements(desk.ledger, visit["mdtrt_id"]):
        raise HisRefused(
            "med_type_locked",
            f"visit {visit['mdtrt_id']} has been settled as med_type {visit['med_type']}: "
            "the med_type may change only before the first settlement",
        )
    visit.update({k: v for k, v in info.items() if k not in ("mdtrt_id", "psn_no")})
    visit["diseinfo"] = call.input.get("diseinfo") or []
    visit["has_info"] = True
    _save(desk, call, visit, "visit_info")


def _change_admission(desk: HisDesk, call: Call) -> None:  # 2403
    info = call.data("adminfo")
    visit = visit_for(desk, call, info.get("mdtrt_id"), info.get("psn_no"))
    _must_be(visit, "admitted")
    fixed = ("mdtrt_id", "psn_no", "insutype", "mdtrt_cert_type", "mdtrt_cert_no")
    if "med_type" in info and info["med_type"] != visit["med_type"]:
        check_med_type(desk, str(info["med_type"]), "inpatient")
    visit.update({k: v for k, v in info.items() if k not in fixed})
    if isinstance(info.get("ipt_no"), str):
        visit["ipt_otp_no"] = info["ipt_no"]
    if "diseinfo" in call.input:
        visit["diseinfo"] = call.input["diseinfo"]
    _save(desk, call, visit, "admission_changed")


def _discharge(desk: HisDesk, call: Call) -> None:  # 2402
    info = call.data("dscginfo")
    visit = visit_for(desk, call, info.get("mdtrt_id"), info.get("psn_no"))
    _must_be(visit, "admitted")
    endtime = text(info, "endtime", "input.dscginfo") or ""
    diseinfo = call.input.get("diseinfo")
    mains = [d for d in diseinfo or [] if isinstance(d, dict) and d.get("maindiag_flag") == "1"]
    if len(mains) != 1:
        raise HisRefused(
            "no_main_diagnosis",
            f'input.diseinfo has {len(mains)} main diagnoses (maindiag_flag "1"): exactly one '
            "is needed at discharge",
        )
    if endtime < str(visit["begntime"]):
        raise HisRefused(
            "bad_endtime",
            f"endtime {endtime} is before the admission's begntime {visit['begntime']}",
        )
    visit["endtime"] = endtime
    visit["dscginfo"] = info
    visit["dscg_diseinfo"] = diseinfo
    visit["state"] = "discharged"
    _save(desk, call, visit, "discharged")
    call.undo = {"op": "undischarge", "mdtrt_id": visit["mdtrt_id"]}


def undischarge(desk: HisDesk, call: Call, visit: dict[str, Any]) -> None:
    finals = [s for s in live_settlements(desk, visit["mdtrt_id"]) if s["mid_setl_flag"] == "0"]
    if finals:
        raise HisRefused(
            "has_settlement",
            f"visit {visit['mdtrt_id']} has a final settlement ({finals[0]['setl_id']}): "
            "reverse it (2305) first",
        )
    _must_be(visit, "discharged")
    visit["state"] = "admitted"
    visit.pop("endtime", None)
    _save(desk, call, visit, "discharge_cancelled")


def _cancel_discharge(desk: HisDesk, call: Call) -> None:  # 2405
    undischarge(desk, call, load_visit(desk, call))


HANDLERS = {
    "2201": _register,
    "2202": _cancel,
    "2203": _visit_info,
    "2401": _admit,
    "2402": _discharge,
    "2403": _change_admission,
    "2404": _cancel,
    "2405": _cancel_discharge,
}
