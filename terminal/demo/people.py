"""The demo insured persons of Hangzhou: ID numbers with valid check characters, card numbers,
accounts and accumulators, relative to the current date so ages and years stay right."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from terminal.settlement.identity import id_check_ok
from terminal.settlement.money import format_fen

__all__ = ["DemoPerson", "demo_people", "demo_persons", "make_psn_cert"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_psn_cert(region: str, born: date, sequence: int, sex: str) -> str:
    """An 18-character ID number: region, birth date, sequence (odd for men), check character."""
    seq = sequence * 2 + (1 if sex == "1" else 0)
    body = f"{region}{born:%Y%m%d}{seq % 1000:03d}"
    total = sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


@dataclass(frozen=True, slots=True)
class DemoPerson:
    """One demo person: what the platform's persons file, a card and an e-card hold."""

    psn_no: str
    psn_cert: str
    name: str
    card_no: str
    sex: str  # 1 male, 2 female
    ethnicity: str  # GB 3304
    birthplace: str
    birth_date: date
    insutype: str
    psn_type: str
    flags: tuple[str, ...]
    acct_balance: int  # fen
    pools: dict[str, tuple[int, int, int]]  # pool → (dedc_used, inscp_cum, fund_paid), fen
    note: str


# name, sex, ethnicity, birthplace, age, birthday (month, day), insutype, psn_type, flags,
# balance (fen), pools, note
_PEOPLE: tuple[tuple[Any, ...], ...] = (
    (
        "张伟",
        "1",
        "01",
        "330102",
        45,
        (3, 12),
        "310",
        "11",
        (),
        320000,
        {"outpatient": (200000, 260000, 36000)},
        "employee, outpatient deductible already met",
    ),
    (
        "李娜",
        "2",
        "01",
        "330106",
        32,
        (7, 8),
        "310",
        "11",
        (),
        185000,
        {},
        "employee, nothing spent this year",
    ),
    (
        "王建国",
        "1",
        "01",
        "330105",
        68,
        (1, 20),
        "310",
        "12",
        (),
        560000,
        {"outpatient": (100000, 180000, 60000)},
        "retired employee, deductible met",
    ),
    (
        "刘芳",
        "2",
        "01",
        "330102",
        71,
        (5, 30),
        "310",
        "12",
        ("civil-servant",),
        880000,
        {"outpatient": (100000, 120000, 15000)},
        "retired civil servant",
    ),
    (
        "陈明",
        "1",
        "01",
        "330104",
        50,
        (10, 2),
        "310",
        "11",
        ("civil-servant",),
        420000,
        {"outpatient": (200000, 210000, 6000)},
        "civil servant",
    ),
    (
        "赵丽华",
        "2",
        "01",
        "330108",
        56,
        (2, 14),
        "390",
        "21",
        (),
        0,
        {},
        "urban-rural resident, no personal account",
    ),
    ("孙小宝", "1", "01", "330106", 8, (6, 1), "390", "31", ("child",), 0, {}, "resident child"),
    (
        "周秀英",
        "2",
        "01",
        "330110",
        76,
        (4, 18),
        "390",
        "22",
        ("assistance",),
        0,
        {"inpatient": (100000, 1600000, 900000)},
        "resident senior, medical-assistance recipient",
    ),
    (
        "吴强",
        "1",
        "01",
        "330102",
        39,
        (9, 9),
        "310",
        "11",
        ("cancer",),
        260000,
        {"chronic": (0, 800000, 680000)},
        "employee under cancer treatment (chronic outpatient)",
    ),
    (
        "郑海燕",
        "2",
        "01",
        "330105",
        41,
        (11, 23),
        "390",
        "21",
        (),
        0,
        {"outpatient": (30000, 52000, 9900)},
        "resident, deductible met",
    ),
    (
        "阿依古丽·买买提明·托合提尼亚孜",
        "2",
        "05",
        "650102",
        29,
        (8, 16),
        "390",
        "21",
        (),
        0,
        {},
        "resident with a name longer than 15 characters",
    ),
    (
        "黄志强",
        "1",
        "01",
        "330106",
        58,
        (12, 5),
        "310",
        "11",
        (),
        1260000,
        {"outpatient": (200000, 450000, 150000), "inpatient": (80000, 2300000, 1900000)},
        "employee with a hospital stay this year",
    ),
)

_DISTRICT = ("330102", "330106", "330105", "330108", "330110", "330104")


def demo_people(today: date) -> list[DemoPerson]:
    """The demo persons, ages counted from `today`'s year."""
    people = []
    for i, row in enumerate(_PEOPLE, start=1):
        (
            name,
            sex,
            eth,
            birthplace,
            age,
            (month, day),
            insutype,
            psn_type,
            flags,
            balance,
            pools,
            note,
        ) = row
        born = date(today.year - age, month, day)
        region = birthplace if str(birthplace).startswith("3301") else _DISTRICT[i % 6]
        cert = make_psn_cert(str(region), born, 100 + i * 7, str(sex))
        assert id_check_ok(cert)
        people.append(
            DemoPerson(
                psn_no=f"33010000{i:08d}",
                psn_cert=cert,
                name=str(name),
                card_no=f"HA{1046900 + i * 13:07d}",
                sex=str(sex),
                ethnicity=str(eth),
                birthplace=str(birthplace),
                birth_date=born,
                insutype=str(insutype),
                psn_type=str(psn_type),
                flags=tuple(flags),
                acct_balance=balance,
                pools=dict(pools),
                note=str(note),
            )
        )
    return people


def _accumulators(p: DemoPerson) -> dict[str, Any]:
    return {
        "acct_balance": format_fen(p.acct_balance),
        "pools": {
            pool: {
                "dedc_used": format_fen(d),
                "inscp_cum": format_fen(c),
                "fund_paid": format_fen(f),
            }
            for pool, (d, c, f) in sorted(p.pools.items())
        },
        "supplements": {},
    }


def person_json(p: DemoPerson) -> dict[str, Any]:
    """The claim-shaped person."""
    return {
        "psn_no": p.psn_no,
        "psn_cert": p.psn_cert,
        "insutype": p.insutype,
        "psn_type": p.psn_type,
        "insuplc_admdvs": "330100",
        "flags": list(p.flags),
    }


def demo_persons(today: date) -> list[dict[str, Any]]:
    """The persons file (platform-api.md): `[{"person", "accumulators"}]`, the opening state."""
    return [
        {"person": person_json(p), "accumulators": _accumulators(p)} for p in demo_people(today)
    ]
