"""2,000 sales drained through a real fault-injecting proxy process: each sale exactly once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from sync.client.http import HttpPlatform, platform_client
from terminal.bootstrap import open_terminal
from terminal.checkout.syncing import SyncService
from terminal.config import load_config
from tests.conftest import HIGH_LIMITS, free_port
from tests.integration.sync.conftest import Platform, lines, medpos
from tests.support.clock import ShiftedClock
from tests.support.proxy import start_fault_proxy

SALES = 2000


def test_two_thousand_sales_through_thirty_percent_faults_arrive_exactly_once(
    platform: Platform, make_config: Callable[..., Path], demo_dir: Path
) -> None:
    fast_retry = {"retry_base_s": 0.01, "retry_cap_s": 0.05, "batch_size": 100, "timeout_s": 5.0}
    direct = make_config(
        "direct.toml", risk=HIGH_LIMITS, platform={"url": platform.url, **fast_retry}
    )
    assert medpos(direct, "enrol", "--code", platform.enrol_code()).returncode == 0
    assert medpos(direct, "sync", "--once").returncode == 0  # reference data, no faults
    # the sales are made while the platform is out of reach (as store-and-forward is for): each
    # settles offline at once instead of asking the platform for the person's figures (1101)
    # first, which took most of this test's time and is not what it is about
    unreachable = make_config(
        "unreachable.toml",
        risk=HIGH_LIMITS,
        platform={"url": f"http://127.0.0.1:{free_port()}", **fast_retry},
    )
    sold = medpos(
        unreachable,
        "checkout",
        "--claim",
        str(demo_dir / "claim-pharmacy.json"),
        "--repeat",
        str(SALES),
    )
    assert sold.returncode == 0, sold.stderr
    assert len(lines(sold.stdout)) == SALES

    hub_port = urlparse(platform.url).port
    assert hub_port is not None
    proxy = start_fault_proxy(
        hub_port, drop=0.1, reset=0.1, duplicate=0.1, delay=0.1, delay_ms=20, seed=11
    )
    try:
        faulty = make_config(
            "faulty.toml", risk=HIGH_LIMITS, platform={"url": proxy.url, **fast_retry}
        )
        clock = ShiftedClock()
        service = open_terminal(load_config(faulty, env={}), clock=clock)
        transport = HttpPlatform(platform_client(proxy.url, timeout_s=5.0))
        try:
            sync = SyncService(service.ledger, service.config, service.clock, transport)
            passes = errors = 0
            while service.ledger.query("SELECT COUNT(*) AS n FROM outbox")[0]["n"] and passes < 400:
                report = sync.drain()
                errors += report.error is not None
                passes += 1
                if report.error:
                    # past the backoff of what just failed (retry_cap_s, jitter up to 1.5×)
                    clock.advance(seconds=0.08)
            acks = {
                r[0]: r[1]
                for r in service.ledger.query("SELECT status, COUNT(*) FROM acks GROUP BY status")
            }
            left = service.ledger.query("SELECT COUNT(*) AS n FROM outbox")[0]["n"]
            # reconciliation straight to the hub: the faults were for the uploads
            direct_transport = HttpPlatform(platform_client(platform.url, timeout_s=5.0))
            try:
                reconciled = SyncService(
                    service.ledger, service.config, service.clock, direct_transport
                ).reconcile(service.local_now().date())
            finally:
                direct_transport.close()
        finally:
            transport.close()
            service.ledger.close()
        stats = proxy.stats()
    finally:
        proxy.stop()
    assert left == 0 and acks == {"accepted": SALES}, (left, acks)
    assert errors > 0 and stats["dropped"] > 0 and stats["reset"] > 0 and stats["duplicated"] > 0
    count, distinct = platform.scalars("SELECT COUNT(*), COUNT(DISTINCT txn_id) FROM entries")
    assert count == distinct == SALES
    assert reconciled["matches"], reconciled
    assert reconciled["totals"]["platform"]["count"] == SALES
