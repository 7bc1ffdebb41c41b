"""Builders for engine tests: a policy from a few keyword arguments, a claim from lines."""

from __future__ import annotations

import json
from typing import Any

from terminal.settlement import (
    parse_catalogue,
    parse_claim,
    parse_policy,
    result_to_json,
    settle,
)

PSN_1970 = "330102197001011235"  # born 1970-01-01, valid check character

CATALOGUE: list[dict[str, Any]] = [
    {"code": "A1", "name": "甲类药", "category": "A", "price": "10.00"},
    {"code": "B1", "name": "乙类药", "category": "B", "selfpay_ratio": "0.10"},
    {
        "code": "B2",
        "name": "乙类限价",
        "category": "B",
        "selfpay_ratio": "0.20",
        "price_cap": "10.00",
    },
    {"code": "A2", "name": "甲类限价", "category": "A", "price_cap": "10.00"},
    {"code": "C1", "name": "丙类", "category": "C"},
    {"code": "R1", "name": "限门特", "category": "A", "restrict_med_types": ["14"]},
    {"code": "R2", "name": "限肿瘤", "category": "A", "restrict_flags": ["cancer", "rare"]},
    {
        "code": "R3",
        "name": "限门特肿瘤",
        "category": "A",
        "restrict_med_types": ["14"],
        "restrict_flags": ["cancer"],
    },
]


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def policy_text(*schemes: dict[str, Any], region: str = "330100", year: int = 2026) -> str:
    out = [
        "[policy]",
        f'region = "{region}"',
        f"year = {year}",
        'version = "T-1"',
        f'valid_from = "{year}-01-01"',
        f'valid_to = "{year}-12-31"',
    ]
    for i, scheme in enumerate(schemes):
        scheme = dict(scheme)
        supplements = scheme.pop("supplement", [])
        out.append("[[scheme]]")
        scheme.setdefault("id", f"s{i}")
        scheme.setdefault("insutype", ["310"])
        scheme.setdefault("med_type", ["41", "11", "14", "21"])
        scheme.setdefault("pool", "p")
        out += [f"{k} = {_toml(v)}" for k, v in scheme.items()]
        for supp in supplements:
            out.append("[[scheme.supplement]]")
            out += [f"{k} = {_toml(v)}" for k, v in supp.items()]
    return "\n".join(out) + "\n"


def claim_doc(
    lines: list[tuple[str, str, str]],
    *,
    acc: dict[str, Any] | None = None,
    flags: list[str] | None = None,
    med_type: str = "41",
    level: str = "pharmacy",
    day: str = "2026-03-15",
    psn_cert: str = PSN_1970,
    insutype: str = "310",
    psn_type: str = "11",
    region: str = "330100",
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "person": {
            "psn_no": "1",
            "psn_cert": psn_cert,
            "insutype": insutype,
            "psn_type": psn_type,
            "insuplc_admdvs": region,
            "flags": flags or [],
        },
        "visit": {"med_type": med_type, "inst_level": level, "date": day},
        "basket": [{"code": c, "qty": q, "price": p} for c, q, p in lines],
    }
    if acc is not None:
        doc["accumulators"] = acc
    return doc


def run(
    policy: str, claim: dict[str, Any], catalogue: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """`medpos settle`'s JSON for these inputs."""
    result = settle(
        parse_policy(policy), parse_catalogue(catalogue or CATALOGUE), parse_claim(claim)
    )
    return result_to_json(result)
