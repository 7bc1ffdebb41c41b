"""The embedded default's demo data: realistic, valid, and usable on any date."""

from __future__ import annotations

import re
from datetime import date

import pytest

from terminal.demo import (
    demo_basket,
    demo_catalogue,
    demo_claim,
    demo_people,
    demo_persons,
    demo_policy_text,
)
from terminal.settlement import (
    Person,
    Visit,
    id_check_ok,
    match_scheme,
    parse_catalogue,
    parse_claim,
    parse_policy,
    settle,
)

DAYS = [date(2026, 1, 1), date(2026, 11, 25), date(2031, 12, 31)]


def gtin13_ok(code: str) -> bool:
    if not re.fullmatch(r"[0-9]{13}", code):
        return False
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(code[:12]))
    return (10 - total % 10) % 10 == int(code[12])


def test_the_catalogue_is_large_valid_and_has_every_feature() -> None:
    items = demo_catalogue()
    catalogue = parse_catalogue(items)
    assert len(catalogue.items) >= 300
    barcodes = [b for item in items for b in item["barcodes"]]
    assert len(barcodes) == len(set(barcodes))
    assert all(gtin13_ok(b) and b.startswith("69") for b in barcodes)
    assert {item["category"] for item in items} == {"A", "B", "C"}
    assert all("selfpay_ratio" in item for item in items if item["category"] == "B")
    capped = [i for i in items if "price_cap" in i]
    assert any(float(i["price"]) > float(i["price_cap"]) for i in capped)
    assert any("restrict_med_types" in i for i in items)
    assert any("restrict_flags" in i for i in items)
    assert all(i.get("unit") and i.get("price") for i in items)
    assert any("阿莫西林" in i["name"] for i in items)


@pytest.mark.parametrize("day", DAYS)
def test_every_scheme_of_the_policy_is_reachable(day: date) -> None:
    policy = parse_policy(demo_policy_text(day.year))
    assert policy.version == f"330100-{day.year}.1"
    people = demo_people(day)
    reached = set()
    for person in people:
        p = Person(person.psn_cert, person.insutype, person.psn_type, "330100", person.flags)
        for med_type in ("41", "11", "14", "21"):
            for level in ("pharmacy", "1", "2", "3"):
                try:
                    reached.add(match_scheme(policy, p, Visit(med_type, level, day)).id)
                except Exception:  # noqa: S112 - combinations no scheme covers are expected
                    continue
    assert reached == {s.id for s in policy.schemes}
    funds = {supp.fund for s in policy.schemes for supp in s.supplements}
    assert funds == {"hifmi_pay", "cvlserv_pay", "maf_pay"}
    assert {"310", "390"} <= {t for s in policy.schemes for t in s.insutype}


@pytest.mark.parametrize("day", DAYS)
def test_demo_people_have_valid_ids_and_the_cases_the_cards_need(day: date) -> None:
    people = demo_people(day)
    assert len(people) >= 10
    assert all(id_check_ok(p.psn_cert) for p in people)
    assert len({p.card_no for p in people}) == len(people)
    assert all(re.fullmatch(r"[A-Z]{2}[0-9]{7}", p.card_no) for p in people)
    assert any(len(p.name) > 15 for p in people)
    flags = {f for p in people for f in p.flags}
    assert {"civil-servant", "assistance"} <= flags
    assert {p.insutype for p in people} == {"310", "390"}
    assert len(demo_persons(day)) == len(people)


@pytest.mark.parametrize("kind", ["pharmacy", "outpatient", "inpatient"])
@pytest.mark.parametrize("day", DAYS)
def test_every_demo_claim_settles(kind: str, day: date) -> None:
    policy = parse_policy(demo_policy_text(day.year))
    catalogue = parse_catalogue(demo_catalogue())
    result = settle(policy, catalogue, parse_claim(demo_claim(kind, day)))
    assert result.medfee_sumamt > 0
    codes = {line["code"] for line in demo_basket(kind)}
    assert codes <= set(catalogue.items)


def test_the_pharmacy_demo_shows_every_part_of_the_split() -> None:
    day = date(2026, 11, 25)
    result = settle(
        parse_policy(demo_policy_text(2026)),
        parse_catalogue(demo_catalogue()),
        parse_claim(demo_claim("pharmacy", day)),
    )
    assert result.hifp_pay > 0 and result.acct_pay > 0
    assert result.fulamt_ownpay_amt > 0 and result.overlmt_selfpay > 0 and result.preselfpay_amt > 0
