"""Invalid policies, catalogues and claims: each refused naming the file and the field."""

from __future__ import annotations

import copy
import json
import subprocess
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest

from terminal.cli import main
from terminal.errors import InvalidInputError
from terminal.settlement import (
    accumulators_from_json,
    claim_to_json,
    parse_catalogue,
    parse_claim,
    parse_policy,
)
from tests.conftest import MEDPOS
from tests.unit.settlement.helpers import CATALOGUE, claim_doc, policy_text

GOOD_CLAIM = claim_doc([("A1", "2", "12.50")], acc={"acct_balance": "10.00"})


def with_change(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node: Any = out
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is ...:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return out


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("basket.0.qty", "-1", 'claim.json: basket[0].qty: "-1" is not a positive quantity'),
        ("basket.0.qty", "0", 'basket[0].qty: "0" is not a positive quantity'),
        ("basket.0.qty", 2, "basket[0].qty: 2 is not a positive quantity"),
        ("basket.0.qty", "1.2345", 'basket[0].qty: "1.2345" has more than 3 decimal places'),
        ("basket.0.price", 12.5, "basket[0].price: 12.5 is not a non-negative price"),
        ("basket.0.price", "1.23456", "has more than 4 decimal places"),
        ("basket.0.price", ..., "basket[0].price: is missing"),
        ("basket.0.code", "", 'basket[0].code: "" is not a non-empty string'),
        ("basket.0", "A1", "basket[0]: expected an object"),
        ("basket", [], "basket: must be a non-empty list"),
        ("person.psn_cert", "12345", 'person.psn_cert: "12345" is not an 18-character ID number'),
        ("person.psn_cert", "330102197002301234", "valid birth date"),
        ("person.flags", "cancer", 'person.flags: "cancer" is not a list'),
        ("person.flags", [1], "person.flags[0]: 1 is not a non-empty string"),
        ("person.psn_no", 7, "person.psn_no: 7 is not a non-empty string"),
        ("person.insutype", ..., "person.insutype: is missing"),
        ("person", [], "person: expected an object"),
        ("visit.date", "15/03/2026", 'visit.date: "15/03/2026" is not a date'),
        ("visit.inst_level", "4", 'visit.inst_level: "4" is not one of'),
        (
            "accumulators.acct_balance",
            "-1.00",
            'accumulators.acct_balance: "-1.00" is not an amount',
        ),
        ("accumulators.acct_balance", 10, "accumulators.acct_balance: 10 is not an amount"),
        ("accumulators.pools", {"p": {"dedc_used": "1.001"}}, "accumulators.pools.p.dedc_used"),
        ("accumulators.pools", {"p": 3}, "accumulators.pools.p: expected an object"),
        ("accumulators.supplements", {"s": {"paid": 1}}, "accumulators.supplements.s.paid"),
        ("accumulators", [], "accumulators: expected an object"),
    ],
)
def test_an_invalid_claim_names_the_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        parse_claim(with_change(GOOD_CLAIM, path, value), "claim.json")
    assert message in str(err.value)
    assert str(err.value).startswith("claim.json: ")


def test_a_claim_that_is_not_an_object() -> None:
    with pytest.raises(InvalidInputError, match="claim.json: expected an object"):
        parse_claim([], "claim.json")


def test_a_basket_line_of_another_mapping_or_string_type_reads_the_same() -> None:
    """The usual line (a dict of str) is read in one expression; a dict or str subclass, which
    a caller's JSON library may give, takes the field-by-field reading to the same result."""

    class Text(str):
        pass

    usual = parse_claim(GOOD_CLAIM)
    for convert in (
        lambda line: OrderedDict(line),
        lambda line: {k: Text(v) for k, v in line.items()},
    ):
        other = copy.deepcopy(GOOD_CLAIM)
        other["basket"] = [convert(line) for line in other["basket"]]
        assert parse_claim(other) == usual


def test_claim_to_json_round_trips() -> None:
    claim = parse_claim(GOOD_CLAIM)
    again = parse_claim(claim_to_json(claim))
    assert again == claim
    no_psn_no = with_change(GOOD_CLAIM, "person.psn_no", ...)
    assert "psn_no" not in claim_to_json(parse_claim(no_psn_no))["person"]


def test_accumulators_from_json_fills_zeros() -> None:
    acc = accumulators_from_json({"pools": {"p": {"inscp_cum": "3.00"}}}, "x")
    assert acc.pools["p"].inscp_cum == 300 and acc.pools["p"].dedc_used == 0
    assert acc.acct_balance == 0


POLICY_CASES = [
    ("[policy\n", "not valid TOML"),
    ("x = 1\n", "policy: is missing"),
    ('[policy]\nregion = "330100"\n', "policy.year: is missing"),
    (
        '[policy]\nregion = "330100"\nyear = "2026"\nversion = "v"\nvalid_from = "2026-01-01"\n'
        'valid_to = "2026-12-31"\n',
        'policy.year: "2026" is not an integer',
    ),
    (
        '[policy]\nregion = "330100"\nyear = 2026\nversion = "v"\nvalid_from = "2026-01-01"\n'
        'valid_to = "2025-12-31"\n[[scheme]]\n',
        "policy.valid_to: is before policy.valid_from",
    ),
    (
        '[policy]\nregion = "330100"\nyear = 2026\nversion = "v"\nvalid_from = 2026-01-01\n'
        "valid_to = 2026-12-31\n",
        "scheme: the policy needs at least one [[scheme]]",
    ),
]


@pytest.mark.parametrize(("text", "message"), POLICY_CASES)
def test_an_invalid_policy_names_the_field(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        parse_policy(text, "p.toml")
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("scheme", "message"),
    [
        ({"insutype": []}, "scheme[0].insutype: [] is not a non-empty list"),
        ({"inst_level": ["4"]}, 'scheme[0].inst_level[0]: "4" is not one of'),
        ({"age_min": "18"}, 'scheme[0].age_min: "18" is not an integer'),
        ({"age_max": 1.5}, "scheme[0].age_max: 1.5 is not an integer"),
        ({"deductible": "100.001"}, 'scheme[0].deductible: "100.001" is not an amount'),
        ({"cap": 5000}, "scheme[0].cap: 5000 is not an amount"),
        ({"acct_may_pay": ["everything"]}, 'scheme[0].acct_may_pay[0]: "everything" is not one of'),
        ({"segments": [{"from": "0.00", "ratio": "1.20"}]}, "ratio between 0 and 1"),
        ({"segments": [{"from": "0.00", "ratio": 0.8}]}, "segments[0].ratio: 0.8 is not a ratio"),
        (
            {"segments": [{"from": "0.00", "to": "0.00", "ratio": "0.8"}]},
            "segments[0].to: must be above",
        ),
        (
            {"segments": [{"from": "0.00", "ratio": "0.8"}, {"from": "10.00", "ratio": "0.9"}]},
            "segments[1].from: follows an unbounded segment",
        ),
        (
            {
                "segments": [
                    {"from": "0.00", "to": "10.00", "ratio": "0.8"},
                    {"from": "5.00", "ratio": "0.9"},
                ]
            },
            "segments[1].from: overlaps",
        ),
        ({"segments": [{"ratio": "0.8"}]}, "segments[0].from: is missing"),
        ({"segments": "0.8"}, 'segments: "0.8" is not a list of segments'),
        ({"segments": ["0.8"]}, "segments[0]: expected an object"),
        ({"supplement": [{"fund": "magic_pay", "pool": "x"}]}, 'supplement[0].fund: "magic_pay"'),
        ({"supplement": [{"fund": "maf_pay"}]}, "supplement[0].pool: is missing"),
        ({"supplement": [{"fund": "maf_pay", "pool": "a", "cap": "x"}]}, "supplement[0].cap"),
    ],
)
def test_an_invalid_scheme_names_the_field(scheme: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        parse_policy(policy_text(scheme), "p.toml")
    assert message in str(err.value)


def test_supplement_must_be_tables_and_scheme_ids_unique() -> None:
    text = policy_text({}) + "[scheme.x]\n"
    with pytest.raises(InvalidInputError):
        parse_policy(text.replace("[scheme.x]", 'supplement = "no"'), "p.toml")
    with pytest.raises(InvalidInputError, match='scheme\\[1\\].id: "s" is used by an earlier'):
        parse_policy(policy_text({"id": "s"}, {"id": "s"}), "p.toml")
    with pytest.raises(InvalidInputError, match='valid_from: "soon" is not a date'):
        parse_policy(policy_text({}).replace('"2026-01-01"', '"soon"'), "p.toml")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.append(dict(c[0])), '[8].code: "A1" appears twice'),
        (lambda c: c[0].update(category="D"), '[0].category: "D" is not one of'),
        (lambda c: c[1].pop("selfpay_ratio"), "[1].selfpay_ratio: is missing (a category B item"),
        (lambda c: c[0].update(price_cap="1.23456"), '[0].price_cap: "1.23456" has more than 4'),
        (lambda c: c[0].update(price=9.8), "[0].price: 9.8 is not a non-negative price"),
        (
            lambda c: c[0].update(restrict_med_types=[]),
            "[0].restrict_med_types: [] is not a non-empty",
        ),
        (lambda c: c[0].update(restrict_flags=[]), "[0].restrict_flags: [] is not a non-empty"),
        (lambda c: c[0].update(unit=""), "[0].unit"),
        (
            lambda c: (
                c[0].update(barcodes=["6901234567892"]),
                c[2].update(barcodes=["6901234567892"]),
            ),
            '[2].barcodes[0]: "6901234567892" belongs to another item',
        ),
        (lambda c: c[0].pop("name"), "[0].name: is missing"),
        (lambda c: c.__setitem__(0, "A1"), "[0]: expected an object"),
    ],
)
def test_an_invalid_catalogue_names_the_item_and_field(change: Any, message: str) -> None:
    catalogue = copy.deepcopy(CATALOGUE)
    change(catalogue)
    with pytest.raises(InvalidInputError) as err:
        parse_catalogue(catalogue, "k.json")
    assert message in str(err.value)


def test_a_catalogue_must_be_an_array() -> None:
    with pytest.raises(InvalidInputError, match="k.json: the catalogue must be a JSON array"):
        parse_catalogue({"items": []}, "k.json")


def test_a_catalogue_indexes_barcodes_and_tolerates_a_repeated_barcode_on_one_item() -> None:
    catalogue = copy.deepcopy(CATALOGUE)
    catalogue[0]["barcodes"] = ["6901234567892", "6901234567892"]
    parsed = parse_catalogue(catalogue)
    assert parsed.barcode_index == {"6901234567892": "A1"}


# -- the command ---------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "policy": tmp_path / "p.toml",
        "catalogue": tmp_path / "k.json",
        "claim": tmp_path / "c.json",
    }
    paths["policy"].write_text(
        policy_text({"segments": [{"from": "0.00", "ratio": "0.80"}]}), encoding="utf-8"
    )
    paths["catalogue"].write_text(json.dumps(CATALOGUE, ensure_ascii=False), encoding="utf-8")
    paths["claim"].write_text(json.dumps(GOOD_CLAIM), encoding="utf-8")
    return paths


def _args(files: dict[str, Path]) -> list[str]:
    return [
        "settle",
        "--policy",
        str(files["policy"]),
        "--catalogue",
        str(files["catalogue"]),
        "--claim",
        str(files["claim"]),
    ]


def test_settle_prints_one_json_object(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(files)) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"policy_version", "scheme", "setlinfo", "lines", "accumulators_after"}
    assert out["setlinfo"]["hifp_pay"] == "20.00"  # 25.00 × 0.80
    assert out["lines"][0]["name"] == "甲类药"


def test_settle_exit_codes(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    files["claim"].write_text(json.dumps(with_change(GOOD_CLAIM, "basket.0.qty", "-1")))
    assert main(_args(files)) == 2
    assert (
        f'{files["claim"]}: basket[0].qty: "-1" is not a positive quantity'
        in capsys.readouterr().err
    )
    files["claim"].write_text(
        json.dumps(with_change(GOOD_CLAIM, "person.insuplc_admdvs", "110100"))
    )
    assert main(_args(files)) == 3
    assert "no scheme matches" in capsys.readouterr().err
    files["catalogue"].unlink()
    assert main(_args(files)) == 2
    assert "no such file" in capsys.readouterr().err


def test_settle_as_a_process(files: dict[str, Path]) -> None:
    done = subprocess.run([MEDPOS, *_args(files)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["setlinfo"]["medfee_sumamt"] == "25.00"
