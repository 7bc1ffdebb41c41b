"""The JSON shapes of settlement.md: money as "0.00" strings, `pool_prop_selfpay` with 4 places."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from terminal.settlement.model import Accumulators, Claim, SettlementResult
from terminal.settlement.money import format_fen

__all__ = [
    "LINE_MONEY",
    "SETLINFO_FIELDS",
    "accumulators_to_json",
    "claim_to_json",
    "format_ratio",
    "result_to_json",
]

SETLINFO_FIELDS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "pool_prop_selfpay",
    "cvlserv_pay",
    "hifmi_pay",
    "maf_pay",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
    "balc",
)
LINE_MONEY = (
    "det_item_fee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
)
_FOUR = Decimal("0.0001")


def format_ratio(ratio: Decimal) -> str:
    """`pool_prop_selfpay` as the output writes it: four decimal places."""
    return str(ratio.quantize(_FOUR))


def accumulators_to_json(acc: Accumulators) -> dict[str, Any]:
    """`{"acct_balance", "pools": {...}, "supplements": {...}}`, names sorted."""
    return {
        "acct_balance": format_fen(acc.acct_balance),
        "pools": {
            name: {
                "dedc_used": format_fen(p.dedc_used),
                "inscp_cum": format_fen(p.inscp_cum),
                "fund_paid": format_fen(p.fund_paid),
            }
            for name, p in sorted(acc.pools.items())
        },
        "supplements": {
            name: {"base_cum": format_fen(s.base_cum), "paid": format_fen(s.paid)}
            for name, s in sorted(acc.supplements.items())
        },
    }


def result_to_json(result: SettlementResult) -> dict[str, Any]:
    """Exactly what `medpos settle` prints."""
    setlinfo: dict[str, str] = {}
    for name in SETLINFO_FIELDS:
        value = getattr(result, name)
        setlinfo[name] = format_ratio(value) if name == "pool_prop_selfpay" else format_fen(value)
    lines = []
    for line in result.lines:
        out: dict[str, Any] = {
            "code": line.code,
            "name": line.name,
            "chrgitm_lv": line.chrgitm_lv,
            "covered": line.covered,
            "reason": line.reason,
        }
        out.update({m: format_fen(getattr(line, m)) for m in LINE_MONEY})
        lines.append(out)
    return {
        "policy_version": result.policy_version,
        "scheme": result.scheme,
        "setlinfo": setlinfo,
        "lines": lines,
        "accumulators_after": accumulators_to_json(result.accumulators_after),
    }


def claim_to_json(claim: Claim) -> dict[str, Any]:
    """The claim in settlement.md's JSON shape."""
    person: dict[str, Any] = {
        "psn_cert": claim.person.psn_cert,
        "insutype": claim.person.insutype,
        "psn_type": claim.person.psn_type,
        "insuplc_admdvs": claim.person.insuplc_admdvs,
        "flags": list(claim.person.flags),
    }
    if claim.person.psn_no is not None:
        person["psn_no"] = claim.person.psn_no
    return {
        "person": person,
        "visit": {
            "med_type": claim.visit.med_type,
            "inst_level": claim.visit.inst_level,
            "date": claim.visit.date.isoformat(),
        },
        "accumulators": accumulators_to_json(claim.accumulators),
        "basket": [
            {"code": b.code, "qty": format(b.qty, "f"), "price": format(b.price, "f")}
            for b in claim.basket
        ],
    }
