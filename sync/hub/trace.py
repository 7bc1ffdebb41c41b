"""Traceability codes at the platform (trace-codes.md "To the platform"): the codes of a
settlement upload, the 3505 trace report of self-pay sales and their refunds, codes returned by
a settled reversal, and the `trace` reference data.

A code arriving as sold while another sale holds it is stored all the same: neither sale's
status changes (the money decision is not undone); the second sale's acknowledgement carries
`"flags": ["trace_duplicate"]` and a row goes to the platform's trace conflicts. The other
refusal codes the platform can check are flags of an upload too (its money is the fund's
business, its codes are not); a 3505 report whose input is wrong as given (a code that is not
a trace code, a count that does not match, a code twice in the report) is answered
`retRslt` "0" with the refusal and nothing is stored, so the terminal parks it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, insert, select, update

from sync.hub import schema as t
from sync.hub._common import Message, need
from sync.hub.errors import Refused
from sync.hub.reference import ReferenceData
from sync.hub.trace_rules import FORMAT_REFUSALS, TraceLine, plan_sale
from sync.hub.trace_store import holders, institution_changes, return_codes, store_plan
from sync.protocol.canonical import canonical_json
from sync.protocol.envelope import parse_inf_time
from sync.protocol.refdata import sign_refdata

__all__ = [
    "REPORT_INFNO",
    "REPORT_REFUSALS",
    "TRACE_KIND",
    "TRACE_LAG_S",
    "record_upload",
    "report",
    "return_sale",
    "serve",
]

REPORT_INFNO = "3505"
TRACE_KIND = "trace"
# a 3505 report refused as given (the input is wrong): retRslt "0", nothing stored
REPORT_REFUSALS = (*FORMAT_REFUSALS, "trace_count_mismatch", "trace_duplicate_in_sale")
# from these dates (the spec's defaults of `[trace] settle_required_from` and `all_sales_from`)
# a coded item sold without codes is flagged `trace_missing` when its catalogue gives it no
# no-code stock: insurance sales (uploads), and self-pay sales (3505)
SETTLE_REQUIRED_FROM = "2025-07-01"
ALL_SALES_FROM = "2026-01-01"
# the trace refdata version is the platform's epoch less this lag: a change is served once
# every transaction that could have written before it has committed
TRACE_LAG_S = 10


def upload_lines(claim: Mapping[str, Any]) -> list[TraceLine]:
    """The trace lines of an upload's claim basket (`trac`, `trdn_flag`, `trac_format`)."""
    basket = claim.get("basket")
    if not isinstance(basket, list):
        return []
    return [
        TraceLine(
            item=str(line.get("code", "")),
            qty=str(line.get("qty", "")),
            trdn_flag=str(line.get("trdn_flag", "0")),
            codes=_strings(line.get("trac")),
            formats=_strings(line.get("trac_format")),
        )
        for line in basket
        if isinstance(line, Mapping)
    ]


def record_upload(
    conn: Connection, reference: ReferenceData, message: Message, setl_date: str
) -> list[str]:
    """Store the codes of a settlement upload's sale; the acknowledgement's flags."""
    data = message.data
    lines = upload_lines(data["claim"])
    if not any(line.codes for line in lines) and not _may_need_codes(conn, reference, data):
        return []
    rules = reference.trace_rules(conn, data.get("catalogue_version"))
    plan = plan_sale(
        lines,
        rules,
        holders(conn, (c for line in lines for c in line.codes)),
        fixmedins_code=message.device.fixmedins_code,
        sold_at=data["settled_at"],
        codes_required=data["settled_at"][:10] >= SETTLE_REQUIRED_FROM,
    )
    store_plan(
        conn,
        plan,
        txn_id=data["txn_id"],
        dev_no=message.dev_no,
        fixmedins_code=message.device.fixmedins_code,
        sold_at=data["settled_at"],
        setl_date=setl_date,
        now=int(message.now.timestamp()),
    )
    return plan.flags()


def return_sale(conn: Connection, orig_txn_id: str, orig_input: str, now: int) -> None:
    """A settled reversal of sale `orig_txn_id` returns the codes that sale sold."""
    claim = json.loads(orig_input).get("claim", {})
    codes = [c for line in upload_lines(claim) for c in line.codes]
    return_codes(conn, codes, now, txn_id=orig_txn_id)


def report(conn: Connection, reference: ReferenceData, message: Message) -> dict[str, Any]:
    """3505: a self-pay sale's or refund's codes; `{"result": {"retRslt", "msgRslt",
    "flags"?}}`. Idempotent by `txn_id`."""
    data, now = message.data, int(message.now.timestamp())
    txn_id = need(data, "txn_id", str)
    need(data, "mdtrt_setl_type", str)
    sel_retn = need(data, "sel_retn", str)
    if sel_retn not in ("sale", "return"):
        raise Refused("bad_input", "input.sel_retn: sale or return")
    sold_at = need(data, "sel_retn_time", str)
    try:
        day = parse_inf_time(sold_at).date().isoformat()
    except ValueError:
        raise Refused("bad_input", "input.sel_retn_time: not yyyy-MM-dd HH:mm:ss") from None
    need(data, "sel_retn_opter_name", str)
    lines = [_report_line(line, i) for i, line in enumerate(need(data, "lines", list))]
    stored = conn.execute(
        select(t.trace_reports.c.input_hash, t.trace_reports.c.output).where(
            t.trace_reports.c.txn_id == txn_id
        )
    ).first()
    if stored is not None:
        if stored.input_hash != message.input_hash:
            return _result("0", f"txn_id_reused: {txn_id} was reported with other lines")
        answer: dict[str, Any] = json.loads(stored.output)
        return answer
    inst = message.device.fixmedins_code
    if sel_retn == "return":
        _return_lines(conn, lines, inst, now)
        output = _result("1", "returned")
    else:
        rules = reference.trace_rules(conn, None)
        found = holders(conn, (c for line in lines for c in line.codes))
        plan = plan_sale(
            lines,
            rules,
            found,
            fixmedins_code=inst,
            sold_at=sold_at,
            codes_required=day >= ALL_SALES_FROM,
        )
        refused = [p for p in plan.problems if p.code in REPORT_REFUSALS]
        if refused:
            return _result("0", refused[0].text())
        store_plan(
            conn,
            plan,
            txn_id=txn_id,
            dev_no=message.dev_no,
            fixmedins_code=inst,
            sold_at=sold_at,
            setl_date=day,
            now=now,
        )
        output = _result("1", "stored", plan.flags())
    conn.execute(
        insert(t.trace_reports).values(
            txn_id=txn_id,
            dev_no=message.dev_no,
            sel_retn=sel_retn,
            input_hash=message.input_hash,
            output=canonical_json(output).decode(),
            stored_at=now,
        )
    )
    return output


def serve(
    conn: Connection, device: Any, since: int | None, now: float, root: Any
) -> tuple[int, dict[str, Any] | None]:
    """(HTTP status, refdata object) of kind `trace` for `device`: the codes sold, opened or
    returned by the other devices of its institution, since version `since` (a delta) or all
    (`base_version` null). The version is the platform's epoch less `TRACE_LAG_S`."""
    version = int(now) - TRACE_LAG_S
    if since is not None and since >= version:
        return 304, None
    added = institution_changes(conn, device.fixmedins_code, device.dev_no, since, version)
    if since is not None and not added:
        return 304, None
    obj = {
        "kind": TRACE_KIND,
        "version": version,
        "base_version": since,
        "issued_at": int(now),
        "body": {"codes": {"added": added, "removed": []}},
    }
    return 200, sign_refdata(obj, root)


def _report_line(line: Any, index: int) -> TraceLine:
    where = f"lines[{index}]"
    if not isinstance(line, Mapping):
        raise Refused("bad_input", f"input.{where}: an object is required")
    for name in ("med_list_codg", "fixmedins_hilist_name", "sel_retn_cnt", "finl_trns_pric"):
        if not isinstance(line.get(name), str):
            raise Refused("bad_input", f"input.{where}.{name}: missing or of the wrong type")
    flag = line.get("trdn_flag")
    if flag not in ("0", "1"):
        raise Refused("bad_input", f'input.{where}.trdn_flag: "0" or "1"')
    info = line.get("drugtracinfo", [])
    if not isinstance(info, list) or not all(
        isinstance(i, Mapping) and isinstance(i.get("drug_trac_codg"), str) for i in info
    ):
        raise Refused("bad_input", f"input.{where}.drugtracinfo: a list of {{drug_trac_codg}}")
    return TraceLine(
        item=line["med_list_codg"],
        qty=line["sel_retn_cnt"],
        trdn_flag=flag,
        codes=tuple(i["drug_trac_codg"] for i in info),
    )


def _return_lines(conn: Connection, lines: Sequence[TraceLine], inst: str, now: int) -> None:
    """A refund: whole packages go back to `returned`; split units go back to the package
    they came from (its newest opened row at the institution), which stays opened."""
    whole = [c for line in lines if line.trdn_flag == "0" for c in line.codes]
    return_codes(conn, whole, now, fixmedins_code=inst)
    for line in lines:
        if line.trdn_flag != "1" or not line.codes:
            continue
        try:
            units = Decimal(line.qty)
        except InvalidOperation:
            continue
        if not units.is_finite() or units != units.to_integral_value():
            continue
        found = holders(conn, line.codes)
        for code in line.codes:
            holder = found.get(code)
            if holder is None or holder.fixmedins_code != inst or holder.remaining is None:
                continue
            c = t.trace_codes.c
            conn.execute(
                update(t.trace_codes)
                .where((c.code == code) & (c.txn_id == holder.txn_id))
                .values(remaining=holder.remaining + int(units), changed_at=now)
            )
            break  # the units went back to one package


def _may_need_codes(conn: Connection, reference: ReferenceData, data: Mapping[str, Any]) -> bool:
    """True when a line of the upload is an item whose codes are required (`trace_missing`)."""
    rules = reference.trace_rules(conn, data.get("catalogue_version"))
    basket = data["claim"].get("basket")
    return isinstance(basket, list) and any(
        isinstance(line, Mapping) and rules.get(str(line.get("code"))) is not None
        for line in basket
    )


def _result(ret: str, msg: str, flags: Sequence[str] = ()) -> dict[str, Any]:
    result: dict[str, Any] = {"retRslt": ret, "msgRslt": msg}
    if flags:
        result["flags"] = list(flags)
    return {"result": result}


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v if isinstance(v, str) else "" for v in value)
