"""Fee lines (his-api.md 2204/2205 outpatient, 2301/2302 inpatient): appended all or none,
deleted by state, and answered with the engine's per-line rules (`price_lines`)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from terminal.his.desk import Call, HisDesk
from terminal.his.numbers import amount_of, parse_cnt, parse_money_fen, parse_pric, plain
from terminal.his.refusal import HisRefused
from terminal.his.visits import load_visit, text, visit_for
from terminal.ledger.his import (
    his_line_rows,
    his_next_line_seq,
    insert_his_lines,
    set_his_lines,
)
from terminal.settlement import Accumulators, BasketLine, Claim, Person, Visit, price_lines
from terminal.settlement.money import format_fen
from terminal.trace.normalise import TraceRefusal, normalise_scan

__all__ = ["HANDLERS", "line_results", "person_of"]

_LEVEL = {"A": "01", "B": "02", "C": "03"}
_OUT_FIELDS = (
    "feedetl_sn", "mdtrt_id", "psn_no", "fee_ocur_time", "med_list_codg", "medins_list_codg",
    "bilg_dept_codg", "bilg_dept_name", "bilg_dr_codg", "bilg_dr_name",
)  # fmt: skip
_OPTIONAL = ("dise_codg", "rxno", "trac", "trdn_flag", "drord_no", "init_feedetl_sn")
_BODY_FIELDS = (*_OUT_FIELDS, *_OPTIONAL, "chrg_bchno")


def person_of(cached: dict[str, Any]) -> Person:
    p = cached["person"]
    return Person(
        p["psn_cert"],
        p["insutype"],
        p["psn_type"],
        p["insuplc_admdvs"],
        tuple(p.get("flags", ())),
        p.get("psn_no"),
    )


def line_results(
    desk: HisDesk, visit: dict[str, Any], lines: list[dict[str, Any]], day: date
) -> list[dict[str, Any]]:
    """2204's `output.result` for stored lines (returns: their negative amount, memo `return`)."""
    ref = desk.service.reference()
    cached = desk.ledger.get_person(visit["psn_cert"])
    assert cached is not None, "a visit's person is in the person cache"
    positive = [ln for ln in lines if Decimal(ln["cnt"]) > 0]
    claim = Claim(
        person_of(cached),
        Visit(visit["med_type"], desk.config.terminal.inst_level, day),
        Accumulators(),
        tuple(BasketLine(ln["med_list_codg"], Decimal(ln["cnt"]), Decimal(ln["pric"]))
              for ln in positive),
    )  # fmt: skip
    priced = price_lines(ref.catalogue, claim)
    split = dict(zip([ln["feedetl_sn"] for ln in positive], priced, strict=True))
    out = []
    for ln in lines:
        res = split.get(ln["feedetl_sn"])
        item = ref.catalogue.items.get(ln["med_list_codg"])
        row: dict[str, Any] = {
            "feedetl_sn": ln["feedetl_sn"],
            "det_item_fee_sumamt": format_fen(ln["det_item_fee_sumamt"]),
            "cnt": ln["cnt"],
            "pric": ln["pric"],
            "pric_uplmt_amt": plain(item.price_cap) if item and item.price_cap is not None
            else ln["pric"],
        }  # fmt: skip
        if res is None:  # a return: its split is its netted line's at settlement
            row.update(selfpay_prop="0", fulamt_ownpay_amt="0.00", overlmt_amt="0.00",
                       preselfpay_amt="0.00", inscp_scp_amt="0.00",
                       chrgitm_lv=_LEVEL.get(item.category, "03") if item else "03",
                       lmt_used_flag="0", memo="return")  # fmt: skip
            out.append(row)
            continue
        restricted = item is not None and (
            item.restrict_med_types is not None or item.restrict_flags is not None
        )
        if not res.covered:
            prop = "1"
        elif item is not None and item.category == "B" and item.selfpay_ratio is not None:
            prop = plain(item.selfpay_ratio)
        else:
            prop = "0"
        row.update(
            selfpay_prop=prop,
            fulamt_ownpay_amt=format_fen(res.fulamt_ownpay_amt),
            overlmt_amt=format_fen(res.overlmt_selfpay),
            preselfpay_amt=format_fen(res.preselfpay_amt),
            inscp_scp_amt=format_fen(res.inscp_scp_amt),
            chrgitm_lv=_LEVEL.get(item.category, "03") if item else "03",
            lmt_used_flag="1" if restricted else "0",
            memo=res.reason,
        )
        out.append(row)
    return out


def _read_line(raw: Any, i: int, inpatient: bool) -> dict[str, Any]:
    """A line's form (bad_input), before any business rule."""
    where = f"input.feedetail[{i}]"
    if not isinstance(raw, dict):
        raise HisRefused("bad_input", f"{where}: an object is needed")
    for key in _OUT_FIELDS:
        text(raw, key, where)
    if not inpatient:
        text(raw, "chrg_bchno", where)
    for key in _OPTIONAL:
        if key != "trac" and raw.get(key) is not None and not isinstance(raw[key], str):
            raise HisRefused("bad_input", f"{where}.{key}: not a string")
    trac = raw.get("trac")  # trace-codes.md "Basket line additions": the codes, in scan order
    if trac is not None and (
        not isinstance(trac, list) or not all(isinstance(c, str) and c for c in trac)
    ):
        raise HisRefused(
            "bad_input", f"{where}.trac: a list of the packages' traceability codes (strings)"
        )
    cnt = parse_cnt(raw.get("cnt"), f"{where}.cnt", returns=inpatient)
    pric = parse_pric(raw.get("pric"), f"{where}.pric")
    fen = parse_money_fen(raw.get("det_item_fee_sumamt"), f"{where}.det_item_fee_sumamt")
    body = {k: raw[k] for k in _BODY_FIELDS if raw.get(k) is not None}
    body.update(cnt=plain(cnt), pric=plain(pric), det_item_fee_sumamt=format_fen(fen))
    return {
        "mdtrt_id": raw["mdtrt_id"],
        "feedetl_sn": raw["feedetl_sn"],
        "chrg_bchno": None if inpatient else raw["chrg_bchno"],
        "init_feedetl_sn": raw.get("init_feedetl_sn"),
        "med_list_codg": raw["med_list_codg"],
        "cnt": body["cnt"],
        "pric": body["pric"],
        "det_item_fee_sumamt": fen,
        "fee_ocur_time": raw["fee_ocur_time"],
        "bilg_dr_codg": raw["bilg_dr_codg"],
        "trac": json.dumps(trac, ensure_ascii=False) if trac is not None else None,
        "trdn_flag": raw.get("trdn_flag"),
        "state": "unsettled",
        "setl_id": None,
        "body": body,
        "_cnt": cnt,
        "_pric": pric,
    }


def _check_codes(feed: list[Any], allow_other: bool) -> None:
    """Each line's traceability codes as codes (trace-codes.md "Normalising a scan"), refused at
    upload with the spec's code and the line; how many a line needs and whether one was sold
    before are checked when the batch settles (2207/2304), in the sale's own unit of work."""
    for raw in feed:
        codes = raw.get("trac") or []
        for code in codes:
            got = normalise_scan(code, allow_other=allow_other)
            if isinstance(got, TraceRefusal):
                raise HisRefused(got.code, f"line {raw['feedetl_sn']}: {code!r}: {got.message}")
        if len(set(codes)) != len(codes):
            raise HisRefused(
                "trace_duplicate_in_sale",
                f"line {raw['feedetl_sn']}: the same code twice: scan each package once",
            )


def _upload(desk: HisDesk, call: Call, inpatient: bool) -> dict[str, Any]:  # 2204, 2301
    feed = call.input.get("feedetail")
    if not isinstance(feed, list) or not feed:
        raise HisRefused("bad_input", "input.feedetail: a non-empty list of fee lines is needed")
    lines = [_read_line(raw, i, inpatient) for i, raw in enumerate(feed)]
    _check_codes(feed, desk.config.trace.allow_other)
    visit = visit_for(desk, call, lines[0]["mdtrt_id"], lines[0]["body"]["psn_no"])
    for ln in lines:
        if ln["mdtrt_id"] != visit["mdtrt_id"] or ln["body"]["psn_no"] != visit["psn_no"]:
            raise HisRefused(
                "bad_input", f"line {ln['feedetl_sn']}: every line of a message is of one visit"
            )
    if visit["state"] not in (("admitted", "discharged") if inpatient else ("open",)):
        raise HisRefused(
            "visit_closed", f"visit {visit['mdtrt_id']} is {visit['state']}: no new fee lines"
        )
    if not visit.get("has_info"):
        raise HisRefused(
            "no_visit_info",
            f"visit {visit['mdtrt_id']} has no visit information yet: send 2203 first",
        )
    mid = visit["mdtrt_id"]
    named = {ln["feedetl_sn"] for ln in lines} | {
        ln["init_feedetl_sn"] for ln in lines if ln["init_feedetl_sn"]
    }
    stored = {ln["feedetl_sn"]: ln for ln in his_line_rows(desk.ledger, mid, sns=named)}
    catalogue = desk.service.reference().catalogue
    new: dict[str, dict[str, Any]] = {}
    returned = _returned(
        desk, mid, {ln["init_feedetl_sn"] for ln in lines if ln["_cnt"] < 0} - {None}
    )
    for ln in lines:
        sn = ln["feedetl_sn"]
        old = stored.get(sn) or new.get(sn)
        if old is not None:
            if old["body"] == ln["body"]:
                continue  # the same line again: a no-op
            raise HisRefused(
                "feedetl_sn_reused",
                f"feedetl_sn {sn} was sent before with other content: give a new line a new "
                "feedetl_sn",
            )
        if ln["det_item_fee_sumamt"] != amount_of(ln["_cnt"], ln["_pric"]):
            raise HisRefused(
                "amount_mismatch",
                f"line {sn}: det_item_fee_sumamt {format_fen(ln['det_item_fee_sumamt'])} is not "
                f"cnt × pric = {format_fen(amount_of(ln['_cnt'], ln['_pric']))}",
            )
        item = catalogue.items.get(ln["med_list_codg"])
        if item is not None and item.price is not None and ln["_pric"] > item.price:
            raise HisRefused(
                "price_above_catalogue",
                f"line {sn}: pric {ln['pric']} is above the catalogue price {plain(item.price)} "
                f"of {ln['med_list_codg']}: correct the price",
            )
        if ln["_cnt"] < 0:
            _check_return(desk, mid, ln, stored, new, returned)
        new[sn] = ln
    if not inpatient:
        _check_batches(desk, visit, list(new.values()))
    base = his_next_line_seq(desk.ledger, mid)
    for i, ln in enumerate(new.values()):
        ln["seq"] = base + i
    insert_his_lines(desk.ledger, new.values())
    if new:
        call.changes.update(mdtrt_id=visit["mdtrt_id"], lines=list(new))
        call.undo = {"op": "delete_lines", "mdtrt_id": visit["mdtrt_id"],
                     "lines": list(new)}  # fmt: skip
    shown = [{k: v for k, v in ln.items() if not k.startswith("_")} for ln in lines]
    return {"result": line_results(desk, visit, shown, call.now.date())}


def _check_return(
    desk: HisDesk,
    mid: str,
    ln: dict[str, Any],
    stored: dict[str, dict[str, Any]],
    new: dict[str, dict[str, Any]],
    returned: dict[str, Decimal],
) -> None:
    sn, init = ln["feedetl_sn"], ln["init_feedetl_sn"]
    orig = stored.get(init or "") or new.get(init or "")
    if orig is None or orig["state"] == "deleted" or Decimal(orig["cnt"]) < 0:
        raise HisRefused(
            "unknown_line",
            f"return {sn}: init_feedetl_sn {init!r} is not a fee line of this visit",
        )
    if orig["state"] == "settled":
        raise HisRefused(
            "line_settled",
            f"return {sn}: line {init} is settled ({orig['setl_id']}): reverse that "
            "settlement first (2305), then send the return",
        )
    if orig["med_list_codg"] != ln["med_list_codg"] or Decimal(orig["pric"]) != ln["_pric"]:
        raise HisRefused(
            "bad_input",
            f"return {sn}: med_list_codg and pric must be those of line {init}",
        )
    returned[init] = returned.get(init, Decimal(0)) + ln["_cnt"]
    if -returned[init] > Decimal(orig["cnt"]):
        raise HisRefused(
            "return_exceeds",
            f"return {sn}: the returns against line {init} ({plain(-returned[init])}) exceed "
            f"its cnt {orig['cnt']}",
        )


def _returned(desk: HisDesk, mid: str, inits: set[Any]) -> dict[str, Decimal]:
    """What the stored returns already take from each line in `inits` (one query)."""
    out: dict[str, Decimal] = {}
    if not inits:
        return out
    for row in his_line_rows(desk.ledger, mid, inits=inits, with_body=False):
        if row["state"] != "deleted":
            init = row["init_feedetl_sn"]
            out[init] = out.get(init, Decimal(0)) + Decimal(row["cnt"])
    return out


def _check_batches(desk: HisDesk, visit: dict[str, Any], new: list[dict[str, Any]]) -> None:
    bchnos = {n["chrg_bchno"] for n in new}
    rows = his_line_rows(desk.ledger, visit["mdtrt_id"], batches=bchnos)
    for bchno in bchnos:
        old = [s for s in rows if s["chrg_bchno"] == bchno and s["state"] != "deleted"]
        if any(s["state"] == "settled" for s in old):
            raise HisRefused(
                "batch_settled",
                f"batch {bchno} of visit {visit['mdtrt_id']} is settled: send new lines in a "
                "new chrg_bchno",
            )
        dises = {s["body"].get("dise_codg") for s in old} | {
            n["body"].get("dise_codg") for n in new if n["chrg_bchno"] == bchno
        }
        dises.discard(None)
        if len(dises) > 1:
            raise HisRefused(
                "dise_mismatch",
                f"batch {bchno} names diseases {', '.join(sorted(dises))}: one dise_codg per batch",
            )


def delete_lines(
    desk: HisDesk, call: Call, visit: dict[str, Any], sns: list[str] | None, bchno: str | None
) -> list[str]:
    """Mark unsettled lines deleted: `sns` (None: every unsettled line), in batch `bchno`."""
    rows = his_line_rows(desk.ledger, visit["mdtrt_id"])
    if bchno is not None:
        rows = [r for r in rows if r["chrg_bchno"] == bchno]
        if any(r["state"] == "settled" for r in rows):
            raise HisRefused(
                "batch_settled",
                f"batch {bchno} is settled: reverse its settlement (2208) to change it",
            )
    if sns is not None:
        for sn in sns:
            row = next((r for r in rows if r["feedetl_sn"] == sn), None)
            if row is None or row["state"] == "deleted":
                raise HisRefused("unknown_line", f"no fee line {sn} to delete in this visit")
            if row["state"] == "settled":
                raise HisRefused(
                    "line_settled",
                    f"line {sn} is settled ({row['setl_id']}): reverse that settlement first",
                )
    chosen = [r["feedetl_sn"] for r in rows if r["state"] == "unsettled"
              and (sns is None or r["feedetl_sn"] in sns)]  # fmt: skip
    set_his_lines(desk.ledger, visit["mdtrt_id"], chosen, "deleted", None)
    call.changes.update(mdtrt_id=visit["mdtrt_id"], deleted=chosen)
    return chosen


def _delete_batch(desk: HisDesk, call: Call) -> None:  # 2205
    data = call.data()
    visit = load_visit(desk, call)
    bchno = text(data, "chrg_bchno", "input.data")
    delete_lines(desk, call, visit, None, None if bchno == "0000" else bchno)


def _delete_line(desk: HisDesk, call: Call) -> None:  # 2302
    data = call.data()
    visit = load_visit(desk, call)
    sn = text(data, "feedetl_sn", "input.data")
    delete_lines(desk, call, visit, None if sn == "0000" else [str(sn)], None)


HANDLERS = {
    "2204": lambda desk, call: _upload(desk, call, False),
    "2205": _delete_batch,
    "2301": lambda desk, call: _upload(desk, call, True),
    "2302": _delete_line,
}
