"""Pre-settle, settle and reverse a visit (his-api.md 2206/2207/2208, 2303/2304/2305).

A settlement is one ordinary sale through the checkout's commit path (`settle_in_unit`,
`sale_record`, `WriteUnit.append_sale`: the same risk limits, ledger entry, outbox and
accumulators), written in the message's own unit of work together with its lines turning
`settled` and the stored answer. Returns (negative `cnt`) are netted into their line first.
"""

from __future__ import annotations

from typing import Any

from terminal.checkout.committing import SaleRequest, sale_record, settle_in_unit
from terminal.checkout.tracing import TraceRefused
from terminal.errors import NoSchemeError
from terminal.his.desk import Call, HisDesk
from terminal.his.lines import person_of
from terminal.his.netting import net_basket, presettle_basket
from terminal.his.numbers import parse_money_fen
from terminal.his.refusal import HisRefused
from terminal.his.visits import text, visit_for
from terminal.identity.model import CERT_CARD, Identity
from terminal.ledger import time_refusal
from terminal.ledger.his import (
    his_line_rows,
    his_settlement,
    his_unsettled_lines,
    set_his_lines,
    store_his_settlement,
    update_his_visit,
)
from terminal.ledger.his_desk import clear_deferred
from terminal.settlement import Accumulators, Claim, Visit
from terminal.settlement.money import format_fen
from terminal.settlement.output import SETLINFO_FIELDS, format_ratio

__all__ = ["HANDLERS", "FUNDS", "net_basket", "presettle_basket", "setl_output"]

FUNDS = (("310100", "hifp_pay"), ("330200", "cvlserv_pay"), ("390200", "hifmi_pay"),
         ("610100", "maf_pay"), ("999999", "oth_pay"))  # fmt: skip
_SPLIT = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
_HARD_RISK = {"hotlisted"}


def _claim_visit(
    desk: HisDesk,
    call: Call,
    visit: dict[str, Any],
    flag: str | None,
    returns: list[dict[str, Any]],
    acct_used_flag: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "med_type": visit["med_type"],
        "inst_level": desk.config.terminal.inst_level,
        "date": call.now.date().isoformat(),
        "mdtrt_id": visit["mdtrt_id"],
        "kind": visit["kind"],
        "ipt_otp_no": visit["ipt_otp_no"],
        "begntime": visit["begntime"],
        "diseinfo": visit.get("dscg_diseinfo") or visit.get("diseinfo") or [],
    }
    if acct_used_flag == "0":  # the platform leaves the account out as this terminal did
        out["acct_used_flag"] = "0"
    if visit.get("endtime"):
        out["endtime"] = visit["endtime"]
    if flag is not None:
        out["mid_setl_flag"] = flag
    if returns:
        out["returns"] = returns
    return out


def _scope(
    desk: HisDesk, call: Call, visit: dict[str, Any], data: dict[str, Any]
) -> tuple[dict[str, str | None], str | None, str | None]:
    """Which unsettled lines a settlement covers (`bchno`, `upto`), its batch (outpatient) and
    its mid_setl_flag."""
    mid = visit["mdtrt_id"]
    if visit["kind"] == "outpatient":
        bchno = text(data, "chrg_bchno", "input.data")
        if visit["state"] != "open":
            raise HisRefused("visit_closed", f"visit {mid} is {visit['state']}")
        return {"bchno": bchno, "upto": None}, bchno, None
    flag = data.get("mid_setl_flag", "0")
    if flag == "0":
        if visit["state"] != "discharged":
            raise HisRefused(
                "not_discharged",
                f"visit {mid} is {visit['state']}: discharge it (2402) before "
                'the final settlement, or send mid_setl_flag "1" for a mid-stay one',
            )
        return {"bchno": None, "upto": None}, None, "0"
    if flag != "1":
        raise HisRefused("bad_input", f'mid_setl_flag {flag!r}: "0" final or "1" mid-stay')
    if visit["state"] != "admitted":
        raise HisRefused("visit_closed", f"visit {mid} is {visit['state']}")
    return {"bchno": None, "upto": f"{call.now:%Y-%m-%d %H:%M:%S}"}, None, "1"


def _settle(desk: HisDesk, call: Call, commit: bool) -> dict[str, Any]:
    data = call.data()
    visit = visit_for(desk, call, data.get("mdtrt_id"), data.get("psn_no"))
    medfee = parse_money_fen(data.get("medfee_sumamt"), "input.data.medfee_sumamt")
    stated = {k: parse_money_fen(data.get(k), f"input.data.{k}") for k in _SPLIT} if commit else {}
    if (data.get("mdtrt_cert_type"), data.get("mdtrt_cert_no")) != (
        visit["mdtrt_cert_type"], visit["mdtrt_cert_no"]
    ):  # fmt: skip
        raise HisRefused(
            "cert_mismatch",
            f"the certificate sent is not the one visit {visit['mdtrt_id']} was registered with",
        )
    if data.get("med_type") != visit["med_type"]:
        raise HisRefused(
            "med_type_mismatch",
            f"med_type {data.get('med_type')} is not the visit's {visit['med_type']}: send "
            "2203/2403 first or settle as the visit's med_type",
        )
    where, bchno, flag = _scope(desk, call, visit, data)
    if commit:
        lines = his_unsettled_lines(
            desk.ledger, visit["mdtrt_id"], bchno=where["bchno"], upto=where["upto"]
        )
        count, total = len(lines), sum(ln.det_item_fee_sumamt for ln in lines)
        parsed_basket, basket, returns = net_basket(lines)
    else:
        lines, basket, returns = [], [], []
        parsed_basket, count, total = presettle_basket(desk, visit["mdtrt_id"], where)
    if not count:
        raise HisRefused("empty_batch", "there is no unsettled fee line to settle")
    if medfee != total:
        raise HisRefused(
            "sum_mismatch",
            f"medfee_sumamt {format_fen(medfee)} is not the lines' total {format_fen(total)}: "
            "upload the missing lines or pre-settle again",
        )
    if not parsed_basket:
        raise HisRefused("empty_batch", "every line is returned in full: nothing to settle")
    cached = desk.ledger.get_person(visit["psn_cert"])
    assert cached is not None
    card = visit["mdtrt_cert_type"] == CERT_CARD
    identity = Identity(
        psn_cert=visit["psn_cert"],
        name=cached["name"] or "",
        mdtrt_cert_type=visit["mdtrt_cert_type"],
        mdtrt_cert_no=visit["mdtrt_cert_no"],
        card_no=visit["mdtrt_cert_no"] if card else None,
        card_sn=visit.get("card_sn") if card else None,
    )
    no_account = data.get("acct_used_flag", "0") != "1"
    claim_visit = _claim_visit(desk, call, visit, flag, returns, "0" if no_account else "1")
    parsed = Claim(
        person_of(cached),
        Visit(visit["med_type"], desk.config.terminal.inst_level, call.now.date()),
        Accumulators(),  # settle_in_unit settles with the terminal's own
        tuple(parsed_basket),
    )
    sale = SaleRequest(identity, dict(cached["person"]), claim_visit, basket, None, "his",
                       name=cached["name"], parsed=parsed)  # fmt: skip
    service = desk.service
    year = call.now.year
    balance = _zero_account(desk, call, visit["psn_cert"], year) if no_account else None
    fresh = call.fresh
    if no_account and fresh is not None:  # the platform's figures, with the account left out
        acc = dict(fresh["accumulators"])
        balance = parse_money_fen(acc.get("acct_balance", "0.00"), "acct_balance")
        fresh = {**fresh, "accumulators": {**acc, "acct_balance": "0.00"}}
    try:
        settled = settle_in_unit(
            desk.ledger, call.work, service.held, service.limits, sale, call.now, fresh
        )
    except NoSchemeError as exc:
        raise HisRefused("no_scheme", f"{exc}: settle this visit as self-pay") from None
    his = desk.config.his
    defer = (commit and his.defer_when_offline and settled.offline
             and (settled.refusal is not None or medfee > his.defer_above))  # fmt: skip
    if defer:
        raise HisRefused(
            "deferred",
            f"the platform cannot be reached and this settlement ({format_fen(medfee)}) is "
            "deferred: tell the patient, and settle again when the terminal is back online",
            deferred=(visit["mdtrt_id"], bchno, medfee),
        )
    if settled.refusal is not None:
        code = settled.refusal.code if settled.refusal.code in _HARD_RISK else "offline_limit"
        raise HisRefused(code, settled.refusal.message)
    result = settled.result
    assert result is not None
    if commit:
        mismatch = [k for k in _SPLIT if stated[k] != getattr(result, k)]
        if mismatch:
            raise HisRefused(
                "split_mismatch",
                f"{', '.join(mismatch)} differ from the settlement's: the HIS shows a stale "
                "pre-settlement; pre-settle again and show the patient the new split",
            )
    out = setl_output(result, visit, call, settled.offline, balance)
    if not commit:
        return out
    try:  # the packages' traceability codes (trace-codes.md), checked in the sale's unit
        plan = service.trace_plan(call.work, settled.claim, "his", settled.catalogue)
    except TraceRefused as exc:
        raise HisRefused(exc.refusal.code, str(exc)) from None
    record = sale_record(sale, settled, call.now, call.opter, "insurance")
    appended = call.work.append_sale(record)
    call.work.record_trace(appended.txn_id, plan, call.now)
    if balance is not None:
        _restore_account(desk, call, visit["psn_cert"], year, balance)
    setl_id = appended.txn_id
    out["setlinfo"] = {"setl_id": setl_id, **out["setlinfo"]}
    set_his_lines(desk.ledger, visit["mdtrt_id"], [ln.feedetl_sn for ln in lines],
                  "settled", setl_id)  # fmt: skip
    store_his_settlement(
        desk.ledger,
        {"setl_id": setl_id, "mdtrt_id": visit["mdtrt_id"], "chrg_bchno": bchno,
         "mid_setl_flag": flag, "state": "settled", "msgid": call.msgid, "at": call.stamp},
        out,
    )  # fmt: skip
    if flag == "0":
        visit["state"] = "settled"
    visit["settled_once"] = True
    update_his_visit(desk.ledger, visit, call.stamp)
    clear_deferred(desk.ledger, visit["mdtrt_id"], call.stamp)
    call.changes.update(mdtrt_id=visit["mdtrt_id"], setl_id=setl_id, state=visit["state"])
    call.undo = {"op": "reverse", "mdtrt_id": visit["mdtrt_id"], "setl_id": setl_id}
    return out


def _zero_account(desk: HisDesk, call: Call, psn_cert: str, year: int) -> int | None:
    """`acct_used_flag` "0": the account pays nothing; settle with it at 0 in this unit."""
    acc = desk.ledger.accumulators(psn_cert, year)
    if acc is None:
        return None
    balance = parse_money_fen(acc.get("acct_balance", "0.00"), "acct_balance")
    call.work.set_accumulators(psn_cert, year, {**acc, "acct_balance": "0.00"})
    return balance


def _restore_account(desk: HisDesk, call: Call, psn_cert: str, year: int, balance: int) -> None:
    acc = desk.ledger.accumulators(psn_cert, year)
    assert acc is not None
    call.work.set_accumulators(psn_cert, year, {**acc, "acct_balance": format_fen(balance)})


def setl_output(
    result: Any, visit: dict[str, Any], call: Call, offline: bool, balance: int | None
) -> dict[str, Any]:
    """2206/2207's `output` (without `setl_id`)."""
    info: dict[str, Any] = {
        "mdtrt_id": visit["mdtrt_id"],
        "psn_no": visit["psn_no"],
        "insutype": visit.get("insutype"),
        "med_type": visit["med_type"],
        "setl_time": f"{call.now:%Y-%m-%d %H:%M:%S}",
        "offline": offline,
    }
    for name in SETLINFO_FIELDS:
        value = getattr(result, name)
        info[name] = format_ratio(value) if name == "pool_prop_selfpay" else format_fen(value)
    if balance is not None:  # the account was not used: balc is the balance before
        info["balc"] = format_fen(balance)
    detail = [{"fund_pay_type": code, "fund_payamt": format_fen(getattr(result, name))}
              for code, name in FUNDS if getattr(result, name)]  # fmt: skip
    return {"setlinfo": info, "setldetail": detail}


def reverse(desk: HisDesk, call: Call, mdtrt_id: Any, setl_id: Any, reason: str) -> dict[str, Any]:
    if not isinstance(setl_id, str):
        raise HisRefused("bad_input", "input.data.setl_id: missing or not a string")
    found = his_settlement(desk.ledger, setl_id)
    if found is None:
        raise HisRefused("unknown_settlement", f"no settlement {setl_id} at this terminal")
    if found["mdtrt_id"] != mdtrt_id:
        raise HisRefused(
            "not_this_visit",
            f"settlement {setl_id} is of visit {found['mdtrt_id']}, not {mdtrt_id}",
        )
    if found["state"] != "settled":
        raise HisRefused(
            "already_reversed", f"settlement {setl_id} was reversed ({found['rev_setl_id']})"
        )
    refused = time_refusal(desk.ledger, call.now)
    if refused is not None:
        raise HisRefused(*refused)
    appended = call.work.append_reversal(
        orig_txn_id=setl_id, reason=reason, operator=call.opter, settled_at=call.now
    )
    visit = visit_for(desk, call, mdtrt_id)
    sns = [r["feedetl_sn"] for r in his_line_rows(desk.ledger, visit["mdtrt_id"], with_body=False)
           if r["setl_id"] == setl_id]  # fmt: skip
    set_his_lines(desk.ledger, visit["mdtrt_id"], sns, "unsettled", None)
    if visit["state"] == "settled":
        visit["state"] = "discharged"
        update_his_visit(desk.ledger, visit, call.stamp)
    orig = found["output"]["setlinfo"]
    info = dict(orig)
    info["setl_id"] = appended.txn_id
    for name in SETLINFO_FIELDS:
        if name not in ("balc", "pool_prop_selfpay"):
            info[name] = format_fen(-parse_money_fen(orig[name], name))
    info["balc"] = format_fen(
        parse_money_fen(orig["balc"], "balc") + parse_money_fen(orig["acct_pay"], "acct_pay")
    )
    info["setl_time"] = f"{call.now:%Y-%m-%d %H:%M:%S}"
    store_his_settlement(
        desk.ledger, {**found, "state": "reversed", "rev_setl_id": appended.txn_id}, found["output"]
    )
    call.changes.update(mdtrt_id=visit["mdtrt_id"], reversed=setl_id, setl_id=appended.txn_id)
    return {"setlinfo": info}


def _reverse(desk: HisDesk, call: Call) -> dict[str, Any]:  # 2208, 2305
    data = call.data()
    visit = visit_for(desk, call, data.get("mdtrt_id"), data.get("psn_no"))
    return reverse(desk, call, visit["mdtrt_id"], data.get("setl_id"), call.infno)


HANDLERS = {
    "2206": lambda desk, call: _settle(desk, call, False),
    "2207": lambda desk, call: _settle(desk, call, True),
    "2208": _reverse,
    "2303": lambda desk, call: _settle(desk, call, False),
    "2304": lambda desk, call: _settle(desk, call, True),
    "2305": _reverse,
}
DRY_RUN = frozenset({"2206", "2303"})
