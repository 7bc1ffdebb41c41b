"""A partial refund reaches the real hub (a process on loopback) as the ordinary reversal and the
ordinary sale, both accepted, and the platform's accumulators end as a fresh sale of the kept
lines leaves them (docs/core.md "Partial refunds")."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.sync.conftest import Platform, lines, medpos, terminal_config


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_the_hub_accepts_both_uploads_and_ends_with_the_kept_sales_accumulators(
    platform: Platform, make_config: Callable[..., Path], demo_dir: Path, tmp_path: Path
) -> None:
    from pypdf import PdfReader

    from sync.client.http import HttpPlatform, platform_client
    from terminal.bootstrap import open_terminal
    from terminal.checkout.syncing import SyncService
    from terminal.config import load_config
    from terminal.settlement import accumulators_from_json, parse_claim, settle

    config = terminal_config(make_config, platform, "t1")
    assert medpos(config, "enrol", "--code", platform.enrol_code()).returncode == 0
    assert medpos(config, "sync", "--once").returncode == 0
    claim_path = demo_dir / "claim-pharmacy.json"
    claim = json.loads(claim_path.read_text())
    sale = lines(medpos(config, "checkout", "--claim", str(claim_path)).stdout)[0]
    assert lines(medpos(config, "sync", "--once").stdout)[0]["upload"]["acked"] == {"accepted": 1}

    done = medpos(
        config, "sale", "refund", sale["txn_id"], "--lines", "2:1,1:1",
        "--reason", "not opened", "--operator", "2001",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    refund = lines(done.stdout)[0]
    assert refund["refunded"] == [
        {"line": 1, "code": claim["basket"][0]["code"], "qty": "1"},
        {"line": 2, "code": claim["basket"][1]["code"], "qty": "1"},
    ]
    synced = lines(medpos(config, "sync", "--once").stdout)[0]
    assert synced["upload"]["acked"] == {"accepted": 2}  # the reversal and the kept sale

    service = open_terminal(load_config(config, env={}))
    transport = HttpPlatform(platform_client(platform.url))
    try:
        on_platform = SyncService(
            service.ledger, service.config, service.clock, transport
        ).fetch_person(claim["person"]["psn_cert"], 10)
        before = service.ledger.upload_input(sale["txn_id"])["claim"]["accumulators"]
        kept_basket = service.ledger.upload_input(refund["kept_txn_id"])["claim"]["basket"]
        reference = service.reference()
    finally:
        transport.close()
        service.ledger.close()
    # the engine, fresh: the kept lines alone sold against the accumulators before the sale
    fresh = {**claim, "accumulators": before, "basket": kept_basket}
    alone = settle(reference.policy, reference.catalogue, parse_claim(fresh, "kept"))
    assert on_platform is not None
    assert accumulators_from_json(on_platform["accumulators"], "hub") == alone.accumulators_after
    assert alone.accumulators_after != accumulators_from_json(before, "before")

    # the refund's receipt as PDF: what was given back, what was kept and why
    pdf = tmp_path / "refund.pdf"
    written = medpos(config, "sale", "receipt", refund["txn_id"], "--pdf", str(pdf), "--lang", "en")
    assert written.returncode == 0, written.stderr
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    text = "".join(text.replace("\x00", "").split())
    kept_cash = refund["kept_setlinfo"]["psn_cash_pay"]
    assert "PARTIALREFUND" in text and "Refundreasonnotopened" in text
    assert f"Kept(newsettlement{refund['kept_txn_id']})" in text
    assert f"Cashpaid{kept_cash}" in text
    shown: Any = json.loads(medpos(config, "sale", "show", sale["txn_id"]).stdout)
    assert (
        shown["refunded_by"] == refund["txn_id"] and shown["kept_txn_id"] == refund["kept_txn_id"]
    )
    listed = lines(medpos(config, "sale", "list", "--person", claim["person"]["psn_no"]).stdout)
    assert [r["txn_id"] for r in listed] == [
        refund["kept_txn_id"],
        refund["txn_id"],
        sale["txn_id"],
    ]
    assert listed[1]["kind"] == "reversal" and listed[1]["kept_txn_id"] == refund["kept_txn_id"]
