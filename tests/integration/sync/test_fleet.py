"""The 9201 heartbeat against the real hub (platform-api.md "Field and fleet additions"): every
sync pass sends one; the platform keeps the latest per device; an older one changes nothing and a
malformed one is refused naming its field."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from terminal.appversion import app_version
from tests.integration.sync.conftest import (
    FakeTerminal,
    Platform,
    lines,
    medpos,
    terminal_config,
)

HEARTBEAT = {
    "queue": 3,
    "parked": 0,
    "chain_head": {"seq": 7, "hash": "ab" * 32},
    "refdata": {"policy": 1},
    "app_version": "0.0.9",
}


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_every_sync_pass_leaves_the_devices_latest_heartbeat_at_the_platform(
    platform: Platform,
    make_config: Callable[..., Path],
    demo_dir: Path,
    sale_input: dict[str, Any],
) -> None:
    config = terminal_config(make_config, platform, "t1")
    assert medpos(config, "enrol", "--code", platform.enrol_code()).returncode == 0
    sold = medpos(
        config, "checkout", "--claim", str(demo_dir / "claim-pharmacy.json"), "--repeat", "2"
    )
    assert sold.returncode == 0, sold.stderr
    synced = medpos(config, "sync", "--once")
    assert synced.returncode == 0, synced.stderr
    sent = lines(synced.stdout)[0]["heartbeat"]
    assert sent["queue"] == 0 and sent["chain_head"]["seq"] >= 2 and "offline_since" not in sent
    row = platform.scalars(
        "SELECT queue, parked, chain_seq, chain_hash, refdata, app_version, oldest_unsynced_at "
        "FROM heartbeats"
    )
    assert row[:4] == (0, 0, sent["chain_head"]["seq"], sent["chain_head"]["hash"])
    # version 0: the seeded copy a terminal starts with, before the platform published any
    held = json.loads(row[4])
    # `trace` (trace-codes.md) is made per device at the platform: its version is a time
    assert isinstance(held.pop("trace"), int)
    assert held == {"catalogue": 1, "persons": 1, "policy": 1} | {"hotlist": 0, "trustlist": 0}
    assert row[5] == app_version() and row[6] is None

    device = FakeTerminal(platform, "H33010000001D0009", sale_input)
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    oldest = {"oldest_unsynced_at": f"{now:%Y-%m-%d %H:%M:%S}"}
    [fresh, stale] = device.post(
        device.envelope("9201", HEARTBEAT | oldest),
        device.envelope("9201", HEARTBEAT | {"queue": 99}, inf_time=now - timedelta(seconds=60)),
    )
    assert fresh["infcode"] == 0 and fresh["output"] == {} and stale["infcode"] == 0
    # the heartbeat sent a minute earlier arrived later: the device's latest is still the first
    assert platform.scalars(
        "SELECT queue, chain_seq FROM heartbeats WHERE dev_no = 'H33010000001D0009'"
    ) == (3, 7)
    # a device whose heartbeat is behind what the platform stored of it: its database went back
    [upload] = device.post(device.envelope("2102", device.upload()))
    assert upload["output"]["chain_head"]["seq"] == 1
    [back] = device.post(
        device.envelope("9201", HEARTBEAT | {"chain_head": {"seq": 0, "hash": "0" * 64}} | oldest)
    )
    assert back["infcode"] == 0
    assert platform.scalars(
        "SELECT platform_seq, rolled_back FROM heartbeats WHERE dev_no = 'H33010000001D0009'"
    ) == (1, True)
    assert platform.scalars(
        "SELECT rolled_back FROM heartbeats WHERE dev_no <> 'H33010000001D0009'"
    ) == (False,)
    [bad] = device.post(device.envelope("9201", HEARTBEAT | {"chain_head": {"seq": 1}}))
    assert bad["infcode"] == -1 and bad["err_msg"].startswith("bad_input: input.chain_head.hash")
    assert platform.scalars("SELECT COUNT(*) FROM heartbeats") == (2,)

    # the platform's /metrics: messages by outcome, the fleet read from the heartbeats
    import httpx

    from tests.e2e.test_metrics_face import samples

    got = samples(httpx.get(platform.url + "/metrics").text)
    hub = (("app", "hub"),)
    assert got[("medpos_messages_total", (*hub, ("infno", "9201"), ("outcome", "processed")))] >= 4
    assert got[("medpos_messages_total", (*hub, ("infno", "9201"), ("outcome", "refused")))] == 1
    sales = {
        dict(labels)["outcome"]: n
        for (name, labels), n in got.items()
        if name == "medpos_messages_total" and dict(labels)["infno"] == "2102"
    }
    assert sales.get("accepted", 0) + sales.get("adjusted", 0) == 3, sales
    assert got[("medpos_fleet_devices", ())] == 2
    assert got[("medpos_fleet_queue", ())] == 3
    assert got[("medpos_fleet_silent_devices", ())] == 0
    assert 0 <= got[("medpos_fleet_oldest_unsynced_age_seconds", ())] < 3600
    batch = (*hub, ("method", "POST"), ("route", "/fsi/api/batch"), ("status", "200"))
    assert got[("medpos_http_requests_total", batch)] >= 3
