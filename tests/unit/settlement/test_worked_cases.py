"""Hand-computed cases of settlement.md "The computation, exactly"; arithmetic in comments."""

from __future__ import annotations

from typing import Any

import pytest

from terminal.errors import NoSchemeError
from tests.unit.settlement.helpers import claim_doc, policy_text, run

INPATIENT = {
    "med_type": ["21"],
    "deductible": "800.00",
    "segments": [
        {"from": "0.00", "to": "5000.00", "ratio": "0.80"},
        {"from": "5000.00", "to": "10000.00", "ratio": "0.85"},
        {"from": "10000.00", "ratio": "0.90"},
    ],
}


def pool(dedc: str = "0.00", cum: str = "0.00", paid: str = "0.00") -> dict[str, str]:
    return {"dedc_used": dedc, "inscp_cum": cum, "fund_paid": paid}


def test_the_published_worked_example() -> None:
    # deductible 800; [800, 15000]: 4200×0.80 + 5000×0.85 + 5000×0.90 = 3360 + 4250 + 4500
    out = run(
        policy_text(INPATIENT), claim_doc([("A1", "1", "15000.00")], med_type="21", level="3")
    )
    s = out["setlinfo"]
    assert s["act_pay_dedc"] == "800.00"
    assert s["hifp_pay"] == "12110.00"
    assert s["psn_part_amt"] == "2890.00"
    assert s["pool_prop_selfpay"] == "0.9000"  # C + I = 15000 lies in [10000, ∞)
    assert out["accumulators_after"]["pools"]["p"] == pool("800.00", "15000.00", "12110.00")


def test_deductible_exactly_used_up() -> None:
    # I = 100.00 = deductible: all of it is deductible, nothing for the fund; the next bill pays
    policy = policy_text({"deductible": "100.00", "segments": [{"from": "0.00", "ratio": "0.80"}]})
    first = run(policy, claim_doc([("A1", "10", "10.00")]))
    assert first["setlinfo"]["act_pay_dedc"] == "100.00"
    assert first["setlinfo"]["hifp_pay"] == "0.00"
    acc = first["accumulators_after"]
    assert acc["pools"]["p"]["dedc_used"] == "100.00"
    second = run(policy, claim_doc([("A1", "1", "10.00")], acc=acc))
    # 10.00 × 0.80 = 8.00, no deductible left
    assert second["setlinfo"]["act_pay_dedc"] == "0.00"
    assert second["setlinfo"]["hifp_pay"] == "8.00"


def test_deductible_partly_used_before() -> None:
    # remaining deductible 800 − 700 = 100; [C+100, C+300] = 200 × 0.80 = 160
    policy = policy_text({"deductible": "800.00", "segments": [{"from": "0.00", "ratio": "0.80"}]})
    out = run(policy, claim_doc([("A1", "1", "300.00")], acc={"pools": {"p": pool("700.00")}}))
    assert (out["setlinfo"]["act_pay_dedc"], out["setlinfo"]["hifp_pay"]) == ("100.00", "160.00")


def test_cap_reached_mid_bill() -> None:
    # 500 × 0.80 = 400, but only 1000 − 900 = 100 of the cap is left
    policy = policy_text({"cap": "1000.00", "segments": [{"from": "0.00", "ratio": "0.80"}]})
    out = run(policy, claim_doc([("A1", "1", "500.00")], acc={"pools": {"p": pool(paid="900.00")}}))
    assert out["setlinfo"]["hifp_pay"] == "100.00"
    assert out["setlinfo"]["psn_part_amt"] == "400.00"
    assert out["accumulators_after"]["pools"]["p"]["fund_paid"] == "1000.00"


def test_cap_already_exceeded_pays_nothing() -> None:
    policy = policy_text({"cap": "1000.00", "segments": [{"from": "0.00", "ratio": "0.80"}]})
    out = run(policy, claim_doc([("A1", "1", "50.00")], acc={"pools": {"p": pool(paid="1200.00")}}))
    assert out["setlinfo"]["hifp_pay"] == "0.00"


def test_a_bill_crossing_two_segments() -> None:
    # C = 800, I = 400: [800, 1000] × 0.50 = 100 and [1000, 1200] × 0.80 = 160
    policy = policy_text(
        {
            "segments": [
                {"from": "0.00", "to": "1000.00", "ratio": "0.50"},
                {"from": "1000.00", "ratio": "0.80"},
            ]
        }
    )
    out = run(policy, claim_doc([("A1", "4", "100.00")], acc={"pools": {"p": pool(cum="800.00")}}))
    assert out["setlinfo"]["hifp_pay"] == "260.00"
    assert out["setlinfo"]["pool_prop_selfpay"] == "0.8000"


def test_a_part_no_segment_covers_is_paid_at_zero() -> None:
    # [0, 300]: 100 × 1.00 + (gap 100..200) × 0 + 100 × 0.50 = 150
    policy = policy_text(
        {
            "segments": [
                {"from": "0.00", "to": "100.00", "ratio": "1.00"},
                {"from": "200.00", "ratio": "0.50"},
            ]
        }
    )
    assert run(policy, claim_doc([("A1", "3", "100.00")]))["setlinfo"]["hifp_pay"] == "150.00"
    # C + I = 150 lies in the gap: the ratio shown is 0
    gap = run(policy, claim_doc([("A1", "1", "150.00")]))
    assert gap["setlinfo"]["pool_prop_selfpay"] == "0.0000"
    assert gap["setlinfo"]["hifp_pay"] == "100.00"


def test_pool_prop_selfpay_at_a_segment_boundary_belongs_to_the_upper_segment() -> None:
    # C + I = 1000 exactly: from ≤ 1000 < to holds for [1000, ∞)
    policy = policy_text(
        {
            "segments": [
                {"from": "0.00", "to": "1000.00", "ratio": "0.50"},
                {"from": "1000.00", "ratio": "0.80"},
            ]
        }
    )
    assert (
        run(policy, claim_doc([("A1", "1", "1000.00")]))["setlinfo"]["pool_prop_selfpay"]
        == "0.8000"
    )


def test_b_line_with_a_price_cap() -> None:
    # 3 × 12.00 = 36.00; over the cap (12 − 10) × 3 = 6.00; rest 30.00; 20 % first = 6.00; 24.00
    out = run(
        policy_text({"segments": [{"from": "0.00", "ratio": "1.00"}]}),
        claim_doc([("B2", "3", "12.00")]),
    )
    line = out["lines"][0]
    assert (
        line["det_item_fee_sumamt"],
        line["overlmt_selfpay"],
        line["preselfpay_amt"],
        line["inscp_scp_amt"],
    ) == ("36.00", "6.00", "6.00", "24.00")
    assert line["chrgitm_lv"] == "B" and line["covered"] is True and line["reason"] is None
    assert out["setlinfo"]["hifp_pay"] == "24.00"


def test_a_line_at_or_below_its_cap_has_no_excess() -> None:
    out = run(policy_text({}), claim_doc([("A2", "2", "10.00"), ("B2", "1", "9.99")]))
    assert [x["overlmt_selfpay"] for x in out["lines"]] == ["0.00", "0.00"]


def test_rounding_half_up_at_each_named_step() -> None:
    # B1 0.35 × 1: first self-pay 10 % = 0.035 → 0.04; in scope 0.31
    # A1 0.125 × 3 = 0.375 → 0.38
    # A2 (cap 10.00) 10.0050 × 1 = 10.005 → 10.01; excess 0.005 → 0.01; in scope 10.00
    out = run(
        policy_text({"segments": [{"from": "0.00", "ratio": "0.50"}]}),
        claim_doc([("B1", "1", "0.35"), ("A1", "3", "0.125"), ("A2", "1", "10.0050")]),
    )
    b1, a1, a2 = out["lines"]
    assert (b1["preselfpay_amt"], b1["inscp_scp_amt"]) == ("0.04", "0.31")
    assert a1["det_item_fee_sumamt"] == "0.38"
    assert (a2["det_item_fee_sumamt"], a2["overlmt_selfpay"], a2["inscp_scp_amt"]) == (
        "10.01",
        "0.01",
        "10.00",
    )
    # fund: (0.31 + 0.38 + 10.00) × 0.50 = 5.345 → 5.35 (one rounding per bill)
    assert out["setlinfo"]["hifp_pay"] == "5.35"


def test_quantities_with_fractions() -> None:
    # half a box: 0.5 × 0.2917 = 0.14585 → 0.15
    out = run(policy_text({}), claim_doc([("A1", "0.5", "0.2917")]))
    assert out["lines"][0]["det_item_fee_sumamt"] == "0.15"


def test_restricted_items_met_and_not_met() -> None:
    policy = policy_text({"segments": [{"from": "0.00", "ratio": "1.00"}]})
    lines = [("R1", "1", "10.00"), ("R2", "1", "10.00"), ("R3", "1", "10.00")]
    plain = run(policy, claim_doc(lines, med_type="41"))
    assert [x["reason"] for x in plain["lines"]] == ["restricted"] * 3
    assert plain["setlinfo"]["fulamt_ownpay_amt"] == "30.00"
    chronic = run(policy, claim_doc(lines, med_type="14"))
    assert [x["covered"] for x in chronic["lines"]] == [True, False, False]
    flagged = run(policy, claim_doc(lines, med_type="41", flags=["rare"]))
    assert [x["covered"] for x in flagged["lines"]] == [False, True, False]  # R3 also needs 14
    both = run(policy, claim_doc(lines, med_type="14", flags=["cancer"]))
    assert [x["covered"] for x in both["lines"]] == [True, True, True]
    assert both["setlinfo"]["hifp_pay"] == "30.00"


def test_unknown_codes_and_category_c_are_self_pay_never_dropped() -> None:
    out = run(
        policy_text({"segments": [{"from": "0.00", "ratio": "1.00"}]}),
        claim_doc([("ZZ9", "2", "5.00"), ("C1", "1", "7.50"), ("A1", "1", "1.00")]),
    )
    unknown, c1, _ = out["lines"]
    assert (unknown["reason"], unknown["name"], unknown["chrgitm_lv"]) == (
        "unknown_code",
        None,
        None,
    )
    assert unknown["fulamt_ownpay_amt"] == "10.00"
    assert (c1["reason"], c1["chrgitm_lv"], c1["fulamt_ownpay_amt"]) == ("category_c", "C", "7.50")
    s = out["setlinfo"]
    assert (s["medfee_sumamt"], s["fulamt_ownpay_amt"], s["hifp_pay"]) == ("18.50", "17.50", "1.00")


def test_account_too_small() -> None:
    # bill 50.00, fund 0 (ratio 0); the account has 10.00 of the 50.00 it may pay
    policy = policy_text(
        {"acct_may_pay": ["inscp_selfpay", "preselfpay", "overlmt_selfpay", "fulamt_ownpay"]}
    )
    out = run(policy, claim_doc([("A1", "5", "10.00")], acc={"acct_balance": "10.00"}))
    s = out["setlinfo"]
    assert (s["acct_pay"], s["psn_cash_pay"], s["balc"]) == ("10.00", "40.00", "0.00")
    assert out["accumulators_after"]["acct_balance"] == "0.00"


def test_the_account_pays_only_the_parts_the_policy_names() -> None:
    # A1 20.00 in scope, fund 50 % = 10.00 → inscp_selfpay 10.00; C1 5.00 is fulamt_ownpay
    policy = policy_text(
        {"acct_may_pay": ["inscp_selfpay"], "segments": [{"from": "0.00", "ratio": "0.50"}]}
    )
    out = run(
        policy,
        claim_doc([("A1", "2", "10.00"), ("C1", "1", "5.00")], acc={"acct_balance": "100.00"}),
    )
    s = out["setlinfo"]
    assert (s["hifp_pay"], s["acct_pay"], s["psn_cash_pay"], s["balc"]) == (
        "10.00",
        "10.00",
        "5.00",
        "90.00",
    )
    none = run(policy_text({}), claim_doc([("A1", "1", "10.00")], acc={"acct_balance": "100.00"}))
    assert none["setlinfo"]["acct_pay"] == "0.00"  # default: the account pays nothing


SERIOUS = {
    "fund": "hifmi_pay",
    "pool": "si",
    "cap": "300000.00",
    "segments": [
        {"from": "20000.00", "to": "100000.00", "ratio": "0.60"},
        {"from": "100000.00", "ratio": "0.70"},
    ],
}
CIVIL = {
    "fund": "cvlserv_pay",
    "pool": "cs",
    "flags": ["civil-servant"],
    "cap": "500.00",
    "segments": [{"from": "0.00", "ratio": "0.50"}],
}


def test_a_supplement_above_its_threshold() -> None:
    # I = 5000, fund 80 % = 4000, base y = 1000 over [19500, 20500]: 500 × 0.60 = 300
    policy = policy_text({"segments": [{"from": "0.00", "ratio": "0.80"}], "supplement": [SERIOUS]})
    out = run(
        policy,
        claim_doc(
            [("A1", "1", "5000.00")],
            acc={"supplements": {"si": {"base_cum": "19500.00", "paid": "0.00"}}},
        ),
    )
    s = out["setlinfo"]
    assert (s["hifp_pay"], s["hifmi_pay"], s["fund_pay_sumamt"]) == ("4000.00", "300.00", "4300.00")
    assert out["accumulators_after"]["supplements"]["si"] == {
        "base_cum": "20500.00",
        "paid": "300.00",
    }


def test_supplements_with_flags_apply_in_order_to_what_is_still_owed() -> None:
    # I = 2000, fund 50 % = 1000; civil servant: base 1000 × 0.50 = 500 (cap 500 − 100 = 400)
    # then serious illness: base 2000 − 1000 − 400 = 600 over [0, 600]: below its threshold
    policy = policy_text(
        {"segments": [{"from": "0.00", "ratio": "0.50"}], "supplement": [CIVIL, SERIOUS]}
    )
    acc = {"supplements": {"cs": {"base_cum": "0.00", "paid": "100.00"}}}
    out = run(policy, claim_doc([("A1", "2", "1000.00")], acc=acc, flags=["civil-servant"]))
    s = out["setlinfo"]
    assert (s["cvlserv_pay"], s["hifmi_pay"], s["fund_pay_sumamt"]) == ("400.00", "0.00", "1400.00")
    after = out["accumulators_after"]["supplements"]
    assert after["cs"] == {"base_cum": "1000.00", "paid": "500.00"}
    assert after["si"] == {"base_cum": "600.00", "paid": "0.00"}
    # without the flag the subsidy is not applied and its accumulators do not move
    plain = run(policy, claim_doc([("A1", "2", "1000.00")], acc=acc))
    assert plain["setlinfo"]["cvlserv_pay"] == "0.00"
    assert plain["accumulators_after"]["supplements"]["cs"] == {
        "base_cum": "0.00",
        "paid": "100.00",
    }


def test_missing_accumulators_are_zero_and_output_keeps_the_claims_shape() -> None:
    out = run(
        policy_text({"pool": "outpatient"}),
        claim_doc([("A1", "1", "1.00")], acc={"pools": {"inpatient": pool(cum="5.00")}}),
    )
    after = out["accumulators_after"]
    assert set(after["pools"]) == {"inpatient", "outpatient"}
    assert after["pools"]["inpatient"] == pool(cum="5.00")
    assert after["acct_balance"] == "0.00"


def test_schemes_are_tried_in_file_order() -> None:
    first = {"id": "retired", "psn_type": ["12"], "segments": [{"from": "0.00", "ratio": "0.90"}]}
    second = {"id": "any", "segments": [{"from": "0.00", "ratio": "0.70"}]}
    policy = policy_text(first, second)
    assert run(policy, claim_doc([("A1", "1", "10.00")], psn_type="12"))["scheme"] == "retired"
    assert run(policy, claim_doc([("A1", "1", "10.00")], psn_type="11"))["scheme"] == "any"


def test_age_bounds_are_whole_years_on_the_visit_date_inclusive() -> None:
    policy = policy_text(
        {"id": "child", "age_min": 0, "age_max": 17}, {"id": "adult", "age_min": 18}
    )
    # born 2008-03-15: 17 the day before the 18th birthday, 18 on it
    cert = "330102200803150019"
    assert (
        run(policy, claim_doc([("A1", "1", "1.00")], psn_cert=cert, day="2026-03-14"))["scheme"]
        == "child"
    )
    assert (
        run(policy, claim_doc([("A1", "1", "1.00")], psn_cert=cert, day="2026-03-15"))["scheme"]
        == "adult"
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"region": "110100"}, "is for region 330100"),
        ({"day": "2027-01-02"}, "valid 2026-01-01 to 2026-12-31"),
        ({"insutype": "390"}, "no scheme of policy T-1 covers insutype 390"),
        ({"med_type": "21"}, "med_type 21"),
        ({"level": "3"}, "at level 3"),
        ({"psn_type": "12"}, "psn_type 12"),
        ({"psn_cert": "330102201501010011"}, "age 11"),
        ({"psn_cert": "330102190001010011"}, "age 126"),
    ],
)
def test_no_scheme_says_why(changes: dict[str, Any], reason: str) -> None:
    policy = policy_text(
        {
            "med_type": ["41"],
            "inst_level": ["pharmacy"],
            "psn_type": ["11"],
            "age_min": 18,
            "age_max": 120,
        }
    )
    with pytest.raises(NoSchemeError, match=reason):
        run(policy, claim_doc([("A1", "1", "1.00")], **changes))


def test_a_policy_of_another_year_does_not_apply() -> None:
    policy = policy_text({}, year=2026).replace(
        'valid_to = "2026-12-31"', 'valid_to = "2027-06-30"'
    )
    with pytest.raises(NoSchemeError, match="year 2026"):
        run(policy, claim_doc([("A1", "1", "1.00")], day="2027-02-01"))
