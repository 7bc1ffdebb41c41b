"""A sale with traceability codes uploaded to the real hub (trace-codes.md "To the platform"):
its basket lines carry `trac`, `trac_format` and `trdn_flag`, the entry's hash covers them, and
the platform settles it like any other sale (the hub's duplicate flags are the hub's own tests)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from terminal.bootstrap import open_terminal
from terminal.config import load_config
from tests.conftest import HIGH_LIMITS
from tests.integration.sync.conftest import DEV_NO, FakeTerminal, Platform

CODES = ["81111111111111111111", "82222222222222222222"]


@pytest.fixture
def coded_sale(make_config: Callable[..., Path], demo_dir: Path) -> dict[str, Any]:
    """A real terminal's upload input of the demo claim plus a drug line with two codes."""
    service = open_terminal(load_config(make_config("coded.toml", risk=HIGH_LIMITS), env={}))
    try:
        claim = json.loads((demo_dir / "claim-pharmacy.json").read_text())
        claim["basket"].append(
            {"code": "XJ01DB0006", "qty": "2", "price": "8.70", "trac": copy.copy(CODES)}
        )
        service.sell_claim(claim)
        data = service.ledger.upload_input(f"{DEV_NO}-1")
    finally:
        service.ledger.close()
    data["catalogue_version"] = 1  # the version the platform fixture publishes
    return {k: v for k, v in data.items() if k not in ("txn_id", "ledger")}


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_a_coded_sale_is_uploaded_with_its_codes_and_settled(
    platform: Platform, coded_sale: dict[str, Any]
) -> None:
    line = coded_sale["claim"]["basket"][-1]
    assert (line["trac"], line["trac_format"], line["trdn_flag"]) == (
        CODES,
        ["nmpa20", "nmpa20"],
        "0",
    )
    fake = FakeTerminal(platform, "H33010000002D0001", coded_sale)
    [answer] = fake.post(fake.envelope("2102", fake.upload()))
    assert answer["infcode"] == 0, answer
    assert answer["output"]["setlinfo"]["status"] in ("accepted", "adjusted")
