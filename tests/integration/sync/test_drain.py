"""The terminal's drain over a real ledger against a scripted platform: one batch at a time in
seq order, each sent only after the one before was answered (the next one is made ready
meanwhile), answers stored before entries leave the outbox, and the first transport error ends
the drain with the batch made ready never sent."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from sync.client.http import PlatformUnreachable
from terminal.bootstrap import open_terminal
from terminal.checkout.service import CheckoutService
from terminal.checkout.syncing import SyncService
from terminal.config import load_config
from tests.conftest import HIGH_LIMITS


class ScriptedPlatform:
    """Answers each batch as its script says (`accepted`, `held` or `unreachable`) after a
    short while at work, and fails the test when two batches are in flight at once."""

    def __init__(self, script: Sequence[str]) -> None:
        self.script = list(script)
        self.batches: list[list[int]] = []  # the seqs of each batch sent
        self._in_flight = threading.Lock()

    def batch(
        self, envelopes: Sequence[Mapping[str, Any]], *, body: bytes | None = None
    ) -> list[dict[str, Any]]:
        assert self._in_flight.acquire(blocking=False), "a batch sent before the last answer"
        try:
            assert body is not None and json.loads(body) == {"messages": list(envelopes)}
            self.batches.append([e["input"]["ledger"]["seq"] for e in envelopes])
            time.sleep(0.05)  # at work: the terminal makes the next batch ready meanwhile
            outcome = self.script[len(self.batches) - 1]
            if outcome == "unreachable":
                raise PlatformUnreachable("connection reset")
            return [
                {
                    "infcode": 0,
                    "output": {
                        "setlinfo": {
                            "txn_id": e["input"]["txn_id"],
                            "setl_id": "s1",
                            "status": outcome,
                        }
                    },
                }
                for e in envelopes
            ]
        finally:
            self._in_flight.release()

    def call(self, envelope: Any, timeout_s: float | None = None) -> dict[str, Any]:
        raise AssertionError("not used")

    def refdata(self, kind: str, since: int | None) -> tuple[int, dict[str, Any] | None]:
        raise AssertionError("not used")


@pytest.fixture
def seller(make_config: Callable[..., Path], demo_dir: Path) -> Iterator[CheckoutService]:
    """A terminal with 12 sales in its outbox and batches of 5."""
    config = make_config(
        "drain.toml", risk=HIGH_LIMITS, platform={"batch_size": 5, "retry_base_s": 60.0}
    )
    service = open_terminal(load_config(config, env={}))
    claim = json.loads((demo_dir / "claim-pharmacy.json").read_text())
    for _ in range(12):
        service.sell_claim(claim)
    try:
        yield service
    finally:
        service.ledger.close()


def outbox(service: CheckoutService) -> list[tuple[int, int]]:
    return [
        (r["seq"], r["attempts"])
        for r in service.ledger.query("SELECT seq, attempts FROM outbox ORDER BY seq")
    ]


def test_a_drain_sends_one_batch_at_a_time_in_seq_order(seller: CheckoutService) -> None:
    platform = ScriptedPlatform(["accepted"] * 3)
    report = SyncService(seller.ledger, seller.config, seller.clock, platform).drain()
    assert platform.batches == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12]]
    assert report.as_json() == {"sent": 12, "acked": {"accepted": 12}, "held": 0, "parked": 0}
    assert outbox(seller) == []
    assert seller.ledger.query("SELECT COUNT(*) AS n FROM acks")[0]["n"] == 12


def test_the_first_transport_error_ends_a_drain_and_the_batch_made_ready_stays_unsent(
    seller: CheckoutService,
) -> None:
    platform = ScriptedPlatform(["accepted", "unreachable", "accepted"])
    report = SyncService(seller.ledger, seller.config, seller.clock, platform).drain()
    assert platform.batches == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
    assert report.acked == {"accepted": 5} and report.error
    # the failed batch waits for its retry; the one made ready was never sent
    assert outbox(seller) == [(6, 1), (7, 1), (8, 1), (9, 1), (10, 1), (11, 0), (12, 0)]


def test_a_drain_stops_when_the_platform_holds_a_whole_batch(seller: CheckoutService) -> None:
    platform = ScriptedPlatform(["accepted", "held", "accepted"])
    report = SyncService(seller.ledger, seller.config, seller.clock, platform).drain()
    assert platform.batches == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
    assert report.held == 5 and report.acked == {"accepted": 5}
    assert outbox(seller)[:5] == [(6, 1), (7, 1), (8, 1), (9, 1), (10, 1)]
