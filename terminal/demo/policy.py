"""The demo policy for Hangzhou (region 330100): employees (310) and residents (390), pharmacy (41),
outpatient (11), chronic outpatient (14) and inpatient (21) at levels 1/2/3.

Parameters are plausible for the city, not the official ones: deductibles (起付标准), ratios by
institution level and retired status, annual caps (最高支付限额), a serious-illness supplement
(大病保险), a civil-servant subsidy (公务员医疗补助, flag `civil-servant`) and medical assistance
(医疗救助, flag `assistance`). The text is generated for a year so the embedded default works on
any date.
"""

from __future__ import annotations

__all__ = ["demo_policy_text"]

_EMP_ACCT = '["inscp_selfpay", "preselfpay", "overlmt_selfpay", "fulamt_ownpay"]'
_EMP_ACCT_HOSPITAL = '["inscp_selfpay", "preselfpay", "overlmt_selfpay"]'

_SERIOUS = """
[[scheme.supplement]]
fund = "hifmi_pay"
pool = "serious-illness"
cap = "400000.00"
segments = [
  { from = "20000.00", to = "100000.00", ratio = "0.60" },
  { from = "100000.00", ratio = "0.70" },
]
"""
_CIVIL = """
[[scheme.supplement]]
fund = "cvlserv_pay"
pool = "civil-servant"
flags = ["civil-servant"]
cap = "{cap}"
segments = [{{ from = "0.00", ratio = "{ratio}" }}]
"""
_ASSIST = """
[[scheme.supplement]]
fund = "maf_pay"
pool = "assistance"
flags = ["assistance"]
cap = "30000.00"
segments = [{ from = "0.00", ratio = "0.70" }]
"""


def _scheme(
    sid: str,
    insutype: str,
    med_type: str,
    levels: list[str],
    pool: str,
    deductible: str,
    cap: str,
    segments: str,
    *,
    psn_type: list[str] | None = None,
    age: tuple[int, int] | None = None,
    acct: str = "[]",
    supplements: str = "",
) -> str:
    lines = [
        "[[scheme]]",
        f'id = "{sid}"',
        f'insutype = ["{insutype}"]',
        f'med_type = ["{med_type}"]',
        "inst_level = [" + ", ".join(f'"{x}"' for x in levels) + "]",
    ]
    if psn_type:
        lines.append("psn_type = [" + ", ".join(f'"{x}"' for x in psn_type) + "]")
    if age:
        lines += [f"age_min = {age[0]}", f"age_max = {age[1]}"]
    lines += [
        f'pool = "{pool}"',
        f'deductible = "{deductible}"',
        f'cap = "{cap}"',
        f"acct_may_pay = {acct}",
        f"segments = {segments}",
    ]
    return "\n".join(lines) + "\n" + supplements


def _flat(ratio: str) -> str:
    return f'[{{ from = "0.00", ratio = "{ratio}" }}]'


def _inpatient_segments(a: str, b: str, c: str) -> str:
    return (
        f'[{{ from = "0.00", to = "50000.00", ratio = "{a}" }}, '
        f'{{ from = "50000.00", to = "150000.00", ratio = "{b}" }}, '
        f'{{ from = "150000.00", ratio = "{c}" }}]'
    )


def demo_policy_text(year: int) -> str:
    """The demo policy TOML for `year` (version `330100-<year>.1`)."""
    out = [
        "# 杭州市基本医疗保险 (demo parameters for medpos; not the official ones)",
        "[policy]",
        'region = "330100"',
        f"year = {year}",
        f'version = "330100-{year}.1"',
        f'valid_from = "{year}-01-01"',
        f'valid_to = "{year}-12-31"',
        "",
    ]
    civil_out = _CIVIL.format(cap="3000.00", ratio="0.15")
    civil_in = _CIVIL.format(cap="20000.00", ratio="0.50")
    schemes = [
        # employees (职工医保): pharmacy purchases on the outpatient pool
        _scheme(
            "emp-pharmacy-working",
            "310",
            "41",
            ["pharmacy"],
            "outpatient",
            "2000.00",
            "50000.00",
            _flat("0.60"),
            psn_type=["11"],
            acct=_EMP_ACCT,
            supplements=civil_out,
        ),
        _scheme(
            "emp-pharmacy-retired",
            "310",
            "41",
            ["pharmacy"],
            "outpatient",
            "1000.00",
            "50000.00",
            _flat("0.75"),
            psn_type=["12"],
            acct=_EMP_ACCT,
            supplements=civil_out,
        ),
    ]
    for level, working, retired in (
        ("1", "0.80", "0.85"),
        ("2", "0.75", "0.82"),
        ("3", "0.70", "0.80"),
    ):
        schemes.append(
            _scheme(
                f"emp-outpatient-l{level}-working",
                "310",
                "11",
                [level],
                "outpatient",
                "2000.00",
                "50000.00",
                _flat(working),
                psn_type=["11"],
                acct=_EMP_ACCT_HOSPITAL,
                supplements=civil_out,
            )
        )
        schemes.append(
            _scheme(
                f"emp-outpatient-l{level}-retired",
                "310",
                "11",
                [level],
                "outpatient",
                "1000.00",
                "50000.00",
                _flat(retired),
                psn_type=["12"],
                acct=_EMP_ACCT_HOSPITAL,
                supplements=civil_out,
            )
        )
    schemes.append(
        _scheme(
            "emp-chronic",
            "310",
            "14",
            ["1", "2", "3"],
            "chronic",
            "0.00",
            "20000.00",
            _flat("0.85"),
            acct=_EMP_ACCT_HOSPITAL,
            supplements=civil_out,
        )
    )
    for level, dedc, ratios in (
        ("1", "300.00", ("0.92", "0.94", "0.95")),
        ("2", "600.00", ("0.88", "0.90", "0.92")),
        ("3", "800.00", ("0.85", "0.88", "0.90")),
    ):
        schemes.append(
            _scheme(
                f"emp-inpatient-l{level}",
                "310",
                "21",
                [level],
                "inpatient",
                dedc,
                "400000.00",
                _inpatient_segments(*ratios),
                acct=_EMP_ACCT_HOSPITAL,
                supplements=_SERIOUS + civil_in + _ASSIST,
            )
        )
    # residents (城乡居民医保): no personal account
    schemes += [
        _scheme(
            "res-pharmacy-child",
            "390",
            "41",
            ["pharmacy"],
            "outpatient",
            "0.00",
            "1500.00",
            _flat("0.50"),
            age=(0, 17),
        ),
        _scheme(
            "res-pharmacy",
            "390",
            "41",
            ["pharmacy"],
            "outpatient",
            "300.00",
            "1500.00",
            _flat("0.45"),
        ),
    ]
    for level, ratio in (("1", "0.60"), ("2", "0.50"), ("3", "0.40")):
        schemes.append(
            _scheme(
                f"res-outpatient-l{level}",
                "390",
                "11",
                [level],
                "outpatient",
                "300.00",
                "1500.00",
                _flat(ratio),
                supplements=_ASSIST,
            )
        )
    schemes.append(
        _scheme(
            "res-chronic",
            "390",
            "14",
            ["1", "2", "3"],
            "chronic",
            "0.00",
            "5000.00",
            _flat("0.60"),
            supplements=_ASSIST,
        )
    )
    for level, dedc, ratios in (
        ("1", "300.00", ("0.85", "0.85", "0.85")),
        ("2", "600.00", ("0.75", "0.78", "0.80")),
        ("3", "1000.00", ("0.65", "0.70", "0.75")),
    ):
        schemes.append(
            _scheme(
                f"res-inpatient-l{level}",
                "390",
                "21",
                [level],
                "inpatient",
                dedc,
                "300000.00",
                _inpatient_segments(*ratios),
                supplements=_SERIOUS + _ASSIST,
            )
        )
    return "\n".join(out) + "\n".join(schemes)
