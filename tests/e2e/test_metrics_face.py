"""The terminal's `/metrics` in the Prometheus text format, from a real server on loopback:
requests by route, and the outbox read at scrape time (docs/operations.md "Metrics")."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from prometheus_client.parser import text_string_to_metric_families

from terminal.bootstrap import open_terminal
from terminal.config import load_config
from terminal.demo import demo_claim
from terminal.web.app import Hooks, create_app
from tests.conftest import HIGH_LIMITS
from tests.e2e.webauth import API_TOKEN, AUTH, served


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_terminals_metrics_show_its_queue_and_its_requests(
    make_config: Callable[..., Path], clean_env: None
) -> None:
    config = make_config(risk=HIGH_LIMITS, web={"api_token": API_TOKEN})
    service = open_terminal(load_config(config))
    try:
        with served(create_app(service, hooks=Hooks(), lock=threading.RLock())) as url:
            today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
            for _ in range(2):
                sold = httpx.post(
                    url + "/api/checkout", json=demo_claim("pharmacy", today), headers=AUTH
                )
                assert sold.status_code == 200, sold.text
            scrape = httpx.get(url + "/metrics")
    finally:
        service.ledger.close()
    assert scrape.headers["content-type"].startswith("text/plain")
    got = samples(scrape.text)
    # never enrolled: both sales wait in the outbox, and nothing ever synced
    assert got[("medpos_outbox_queue", ())] == 2
    assert got[("medpos_platform_online", ())] == 0
    assert got[("medpos_outbox_oldest_age_seconds", ())] >= 0
    assert ("medpos_last_sync_age_seconds", ()) not in got
    checkout = (("app", "terminal"), ("method", "POST"), ("route", "/api/checkout"))
    assert got[("medpos_http_requests_total", (*checkout, ("status", "200")))] >= 2
    assert got[("medpos_http_request_seconds_count", checkout[:1] + checkout[2:])] >= 2
