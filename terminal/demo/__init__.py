"""Demo reference data of the embedded default (DESIGN.md "Enrolment, dates and demo data").

Hangzhou (region 330100): a policy for employees and residents, a catalogue of 373 items, a dozen
insured persons, and claims and baskets for the README and tests. Dates are relative to the day
given, so the demo works on any day of any year. `python -m terminal.demo write DIR` writes them.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from terminal.demo.people import DemoPerson, demo_people, demo_persons, person_json
from terminal.demo.policy import demo_policy_text

__all__ = [
    "DemoPerson",
    "demo_basket",
    "demo_catalogue",
    "demo_claim",
    "demo_people",
    "demo_persons",
    "demo_policy_text",
]

# kind → (person index, med_type, inst_level, lines (code, qty, price or None for the default))
_CLAIMS: dict[str, tuple[int, str, str, list[tuple[str, str, str | None]]]] = {
    "pharmacy": (
        0,
        "41",
        "pharmacy",
        [
            ("XC10AA0055", "2", None),  # 阿托伐他汀钙片 (A)
            ("XM01AH0041", "1", None),  # 塞来昔布胶囊 (B, first self-pay)
            ("XC08CA0084", "1", None),  # 左旋氨氯地平片 (B, selling price above its cap)
            ("XA12AX0219", "1", None),  # 碳酸钙D3片 (C: self-pay)
        ],
    ),
    "outpatient": (
        1,
        "11",
        "2",
        [
            ("SV002", "1", None),
            ("SV004", "1", None),
            ("XJ01CA0001", "2", None),
            ("XR05CB0191", "1", None),
        ],
    ),
    "inpatient": (
        2,
        "21",
        "3",
        [
            ("SV016", "9", None),
            ("SV017", "9", None),
            ("SV012", "1", None),
            ("SV014", "8", None),
            ("XB01AF0053", "3", None),
            ("XL01EA0279", "1", None),  # restricted: not met for this person (no cancer flag)
        ],
    ),
}


@cache
def _catalogue_text() -> str:
    return resources.files("terminal.demo").joinpath("data/catalogue.json").read_text("utf-8")


def demo_catalogue() -> list[dict[str, Any]]:
    """The demo catalogue document (settlement.md "Catalogue: JSON")."""
    data: list[dict[str, Any]] = json.loads(_catalogue_text())
    return data


def demo_basket(kind: str) -> list[dict[str, str]]:
    """Basket lines `{code, qty}` for a checkout (prices from the catalogue)."""
    _, _, _, lines = _CLAIMS[kind]
    return [{"code": code, "qty": qty} for code, qty, _ in lines]


def demo_claim(kind: str, today: date) -> dict[str, Any]:
    """A valid claim of kind "pharmacy", "outpatient" or "inpatient" dated `today`."""
    index, med_type, level, lines = _CLAIMS[kind]
    person = demo_people(today)[index]
    prices = {item["code"]: item.get("price") for item in demo_catalogue()}
    opening = next(p for p in demo_persons(today) if p["person"]["psn_cert"] == person.psn_cert)
    return {
        "person": person_json(person),
        "visit": {"med_type": med_type, "inst_level": level, "date": today.isoformat()},
        "accumulators": opening["accumulators"],
        "basket": [
            {"code": code, "qty": qty, "price": price or prices[code]} for code, qty, price in lines
        ],
    }
