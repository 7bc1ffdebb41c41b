"""Hypothesis properties: every invariant of settlement.md "The rules, in order"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terminal.settlement import parse_catalogue, parse_claim, parse_policy, result_to_json, settle
from terminal.settlement.money import format_fen, parse_money
from tests.unit.settlement.helpers import CATALOGUE, claim_doc, policy_text

MONEY = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
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
CODES = [item["code"] for item in CATALOGUE] + ["UNKNOWN"]
RATIOS = ["0", "0.05", "0.5", "0.6", "0.75", "0.8", "0.85", "0.9", "0.95", "1", "0.333"]
CATALOGUE_PARSED = parse_catalogue(CATALOGUE)

fen = st.integers(min_value=0, max_value=10_000_000)


@st.composite
def segments(draw: st.DrawFn) -> list[dict[str, str]]:
    points = sorted(set(draw(st.lists(st.integers(0, 2_000_000), min_size=1, max_size=4))))
    out = []
    for i, lower in enumerate(points):
        seg = {"from": format_fen(lower), "ratio": draw(st.sampled_from(RATIOS))}
        if i + 1 < len(points):
            # the next segment starts at or after this one ends: sometimes a gap
            upper = draw(st.integers(lower + 1, points[i + 1]))
            seg["to"] = format_fen(upper)
        elif draw(st.booleans()):
            seg["to"] = format_fen(lower + draw(st.integers(1, 1_000_000)))
        out.append(seg)
    return out


@st.composite
def policies(draw: st.DrawFn) -> tuple[str, int, list[dict[str, Any]]]:
    scheme: dict[str, Any] = {
        "segments": draw(segments()),
        "deductible": format_fen(draw(st.integers(0, 200_000))),
    }
    if draw(st.booleans()):
        scheme["cap"] = format_fen(draw(st.integers(0, 5_000_000)))
    scheme["acct_may_pay"] = draw(
        st.lists(
            st.sampled_from(["inscp_selfpay", "preselfpay", "overlmt_selfpay", "fulamt_ownpay"]),
            unique=True,
        )
    )
    supplements = []
    for i in range(draw(st.integers(0, 2))):
        supp: dict[str, Any] = {
            "fund": draw(st.sampled_from(["hifmi_pay", "cvlserv_pay", "maf_pay", "oth_pay"])),
            "pool": f"sp{i}",
            "segments": draw(segments()),
        }
        if draw(st.booleans()):
            supp["flags"] = ["f1"]
        if draw(st.booleans()):
            supp["cap"] = format_fen(draw(st.integers(0, 1_000_000)))
        supplements.append(supp)
    scheme["supplement"] = supplements
    return policy_text(scheme), len(supplements), supplements


def decimal_text(draw: st.DrawFn, low: int, high: int, places: int) -> str:
    value = Decimal(draw(st.integers(low, high))) / (10**places)
    return format(value.normalize(), "f") if value else "0"


@st.composite
def baskets(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    lines = []
    for _ in range(draw(st.integers(1, 5))):
        qty = decimal_text(draw, 1, 20_000, 3)
        price = decimal_text(draw, 0, 20_000_000, 4)
        lines.append((draw(st.sampled_from(CODES)), qty, price))
    return lines


@st.composite
def accumulators(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "acct_balance": format_fen(draw(fen)),
        "pools": {
            "p": {
                "dedc_used": format_fen(draw(st.integers(0, 300_000))),
                "inscp_cum": format_fen(draw(st.integers(0, 3_000_000))),
                "fund_paid": format_fen(draw(st.integers(0, 3_000_000))),
            }
        },
        "supplements": {
            f"sp{i}": {
                "base_cum": format_fen(draw(st.integers(0, 3_000_000))),
                "paid": format_fen(draw(st.integers(0, 1_000_000))),
            }
            for i in range(2)
        },
    }


def run(
    policy: str,
    lines: list[tuple[str, str, str]],
    acc: dict[str, Any],
    flags: list[str],
    med_type: str,
) -> dict[str, Any]:
    claim = claim_doc(lines, acc=acc, flags=flags, med_type=med_type)
    return result_to_json(settle(parse_policy(policy), CATALOGUE_PARSED, parse_claim(claim)))


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
flag_sets = st.sampled_from([[], ["f1"], ["cancer"], ["f1", "rare"]])
med_types = st.sampled_from(["41", "14"])


def _fen(value: str) -> int:
    return parse_money(value, "amount")


@FAST
@given(policies(), baskets(), accumulators(), flag_sets, med_types)
def test_amounts_sums_and_caps(policy: Any, lines: Any, acc: Any, flags: Any, med: Any) -> None:
    text, _, supplements = policy
    out = run(text, lines, acc, flags, med)
    s = {k: _fen(v) for k, v in out["setlinfo"].items() if k != "pool_prop_selfpay"}
    assert all(v >= 0 for v in s.values()), s
    for line in out["lines"]:
        assert all(_fen(line[m]) >= 0 for m in LINE_MONEY)
        assert _fen(line["det_item_fee_sumamt"]) == sum(_fen(line[m]) for m in LINE_MONEY[1:])
    assert s["medfee_sumamt"] == (
        s["fulamt_ownpay_amt"] + s["overlmt_selfpay"] + s["preselfpay_amt"] + s["inscp_scp_amt"]
    )
    assert s["medfee_sumamt"] == s["fund_pay_sumamt"] + s["acct_pay"] + s["psn_cash_pay"]
    assert s["fund_pay_sumamt"] == (
        s["hifp_pay"] + s["hifmi_pay"] + s["cvlserv_pay"] + s["maf_pay"] + s["oth_pay"]
    )
    assert s["psn_part_amt"] == s["medfee_sumamt"] - s["fund_pay_sumamt"]
    assert s["balc"] == _fen(acc["acct_balance"]) - s["acct_pay"]
    assert s["act_pay_dedc"] <= s["inscp_scp_amt"]
    after = out["accumulators_after"]
    policy_doc = parse_policy(text).schemes[0]
    before_paid = _fen(acc["pools"]["p"]["fund_paid"])
    if policy_doc.cap is not None:
        assert _fen(after["pools"]["p"]["fund_paid"]) <= max(policy_doc.cap, before_paid)
    for i, supp in enumerate(supplements):
        if "cap" in supp:
            paid_before = _fen(acc["supplements"][f"sp{i}"]["paid"])
            assert _fen(after["supplements"][f"sp{i}"]["paid"]) <= max(
                _fen(supp["cap"]), paid_before
            )
    for group in ("pools", "supplements"):
        for fields in after[group].values():
            assert all(_fen(v) >= 0 for v in fields.values())


@FAST
@given(policies(), baskets(), accumulators(), flag_sets, med_types)
def test_the_same_inputs_always_give_the_same_output(
    policy: Any, lines: Any, acc: Any, flags: Any, med: Any
) -> None:
    assert run(policy[0], lines, acc, flags, med) == run(policy[0], lines, acc, flags, med)


@FAST
@given(policies(), baskets(), baskets(), accumulators(), flag_sets, med_types)
def test_one_go_or_two_visits_end_the_same_up_to_a_fen_per_rounding_step(
    policy: Any, first: Any, second: Any, acc: Any, flags: Any, med: Any
) -> None:
    text, n_supplements, _ = policy
    whole = run(text, first + second, acc, flags, med)
    visit1 = run(text, first, acc, flags, med)
    visit2 = run(text, second, visit1["accumulators_after"], flags, med)
    # each bill rounds the pooled fund once and each supplement once: two bills, twice as many
    tolerance = 2 * (1 + n_supplements)
    fund_whole = _fen(whole["setlinfo"]["fund_pay_sumamt"])
    fund_split = _fen(visit1["setlinfo"]["fund_pay_sumamt"]) + _fen(
        visit2["setlinfo"]["fund_pay_sumamt"]
    )
    assert abs(fund_whole - fund_split) <= tolerance
    a, b = whole["accumulators_after"], visit2["accumulators_after"]
    assert a["pools"]["p"]["dedc_used"] == b["pools"]["p"]["dedc_used"]
    assert a["pools"]["p"]["inscp_cum"] == b["pools"]["p"]["inscp_cum"]
    assert abs(_fen(a["pools"]["p"]["fund_paid"]) - _fen(b["pools"]["p"]["fund_paid"])) <= 2
    assert abs(_fen(a["acct_balance"]) - _fen(b["acct_balance"])) <= tolerance
    for name, fields in a["supplements"].items():
        for field, value in fields.items():
            assert abs(_fen(value) - _fen(b["supplements"][name][field])) <= tolerance
