"""What the platform answers, and what the terminal does with it: adjusted, rejected, held,
parked and released, a tampered entry, and a terminal killed with kill -9 in mid-drain."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from sync.hub.db import open_engine
from sync.hub.service import Hub
from terminal.bootstrap import open_terminal
from terminal.checkout.syncing import SyncService
from terminal.config import load_config
from tests.conftest import HIGH_LIMITS, MEDPOS, free_port, medpos_env
from tests.integration.sync.conftest import DEV_NO, NoTransport, Platform, lines, medpos
from tests.support.cli import in_process
from tests.support.proxy import start_fault_proxy


def ready_terminal(
    platform: Platform, make_config: Callable[..., Path], name: str, **platform_cfg: Any
) -> Path:
    config = make_config(
        f"{name}.toml",
        risk=HIGH_LIMITS,
        platform={"url": platform.url, "batch_size": 50, "retry_base_s": 0.01, **platform_cfg},
    )
    assert medpos(config, "enrol", "--code", platform.enrol_code()).returncode == 0
    assert medpos(config, "sync", "--once").returncode == 0
    return config


def sell(
    config: Path, demo_dir: Path, n: int = 1, *, offline: bool = False
) -> list[dict[str, Any]]:
    """`n` sales; `offline`: with the platform out of reach, each settled at once instead of
    after a 1101 round trip (for tests about what happens to sales waiting to be sent)."""
    env = {"MEDPOS_PLATFORM__URL": f"http://127.0.0.1:{free_port()}"} if offline else None
    done = in_process(
        config,
        "checkout",
        "--claim",
        str(demo_dir / "claim-pharmacy.json"),
        "--repeat",
        str(n),
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return lines(done.stdout)


def acks(config: Path) -> dict[str, tuple[str, str | None]]:
    import sqlite3

    db = sqlite3.connect(config.parent / "var" / "medpos.db")
    try:
        return {r[0]: (r[1], r[2]) for r in db.execute("SELECT txn_id, status, reason FROM acks")}
    finally:
        db.close()


def test_a_platform_with_other_accumulators_adjusts_and_reconciliation_lists_it(
    platform: Platform, make_config: Callable[..., Path], demo_dir: Path, tmp_path: Path
) -> None:
    config = ready_terminal(platform, make_config, "adj")
    claim = json.loads((demo_dir / "claim-pharmacy.json").read_text())
    persons = json.loads((demo_dir / "persons.json").read_text())
    for entry in persons:
        if entry["person"]["psn_cert"] == claim["person"]["psn_cert"]:
            entry["accumulators"]["acct_balance"] = "0.00"  # the platform knows an empty account
    (tmp_path / "persons2.json").write_text(json.dumps(persons, ensure_ascii=False))
    assert platform.admin("publish", "--persons", str(tmp_path / "persons2.json")).returncode == 0
    # sold while the platform cannot be reached: the terminal settles with its own cache
    env = medpos_env(config, MEDPOS_PLATFORM__URL="http://127.0.0.1:9")
    offline = subprocess.run(
        [MEDPOS, "checkout", "--claim", str(demo_dir / "claim-pharmacy.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert offline.returncode == 0, offline.stderr
    sale = lines(offline.stdout)[0]
    assert sale["setlinfo"]["acct_pay"] != "0.00"  # the terminal paid from the account
    report = lines(medpos(config, "sync", "--once").stdout)[0]
    assert report["upload"]["acked"] == {"adjusted": 1}
    recon = medpos(config, "reconcile")
    out = lines(recon.stdout)[0]
    # the terminal reports the split the platform kept: the totals agree, and the detail too
    assert recon.returncode == 0 and out["matches"], out
    assert out["terminal"]["acct_pay"] == "0.00"


def test_a_sale_to_a_person_hotlisted_before_it_is_rejected_and_still_chains(
    platform: Platform, make_config: Callable[..., Path], demo_dir: Path, tmp_path: Path
) -> None:
    config = ready_terminal(platform, make_config, "hot")
    claim = json.loads((demo_dir / "claim-pharmacy.json").read_text())
    hotlist = {
        "entries": [{"kind": "psn_cert", "value": claim["person"]["psn_cert"], "reason": "x"}]
    }
    # the sale is settled after the hotlist was issued: issued on the hub's clock set 2 s back
    engine = open_engine(platform.db)
    try:
        Hub(engine, clock=lambda: time.time() - 2).publish("hotlist", hotlist)
    finally:
        engine.dispose()
    first = sell(config, demo_dir)[0]
    done = lines(medpos(config, "sync", "--once").stdout)[0]
    assert done["upload"]["acked"] == {"rejected": 1}
    assert acks(config)[first["txn_id"]] == ("rejected", "hotlisted")
    # the terminal now holds the hotlist and refuses the person itself
    again = medpos(config, "checkout", "--claim", str(demo_dir / "claim-pharmacy.json"))
    assert again.returncode == 4 and lines(again.stdout)[0]["error"] == "hotlisted"


def test_a_refusal_at_the_envelope_parks_the_sale_until_a_supervisor_releases_it(
    platform: Platform, make_config: Callable[..., Path], demo_dir: Path
) -> None:
    config = ready_terminal(platform, make_config, "park")
    sale = sell(config, demo_dir)[0]
    env = medpos_env(config, MEDPOS_CLOCK_OFFSET_S="3600")  # a clock an hour fast
    skewed = subprocess.run(
        [MEDPOS, "sync", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = lines(skewed.stdout)[0]
    assert report["upload"]["parked"] == 1
    parked = report["status"]["parked"]
    assert parked[0]["txn_id"] == sale["txn_id"] and parked[0]["last_error"].startswith(
        "clock_skew"
    )
    # parked sales are not retried on their own
    assert lines(medpos(config, "sync", "--once").stdout)[0]["upload"]["sent"] == 0
    released = lines(medpos(config, "sync", "release").stdout)[0]
    assert released == {"released": 1, "trace_reports_released": 0}
    done = lines(medpos(config, "sync", "--once").stdout)[0]
    assert done["upload"]["acked"] == {"accepted": 1} and done["status"]["queue"] == 0


def test_an_entry_edited_after_the_sale_is_rejected_as_a_ledger_mismatch(
    platform: Platform, make_config: Callable[..., Path], demo_dir: Path
) -> None:
    import sqlite3

    config = ready_terminal(platform, make_config, "tamper")
    sales = sell(config, demo_dir, 3)
    db = sqlite3.connect(config.parent / "var" / "medpos.db")
    try:
        with db:
            db.execute("UPDATE txns SET psn_cash_pay = psn_cash_pay + 100 WHERE seq = 2")
    finally:
        db.close()
    done = lines(medpos(config, "sync", "--once").stdout)[0]
    assert acks(config)[sales[1]["txn_id"]] == ("rejected", "ledger_mismatch")
    # the entry after it chains to the hash the tampered one carried: it still settles, with
    # the platform's accumulators (which never saw the rejected sale): adjusted
    assert acks(config)[sales[2]["txn_id"]][0] == "adjusted"
    assert done["upload"]["acked"] == {"accepted": 1, "rejected": 1, "adjusted": 1}


def test_an_entry_before_its_predecessor_is_held_then_settled_in_order(
    platform: Platform, make_config: Callable[..., Path], demo_dir: Path
) -> None:
    config = ready_terminal(platform, make_config, "held")
    sell(config, demo_dir, 2)
    service = open_terminal(load_config(config, env={}))
    try:
        sync = SyncService(service.ledger, service.config, service.clock, NoTransport())
        one, two = (
            sync.envelope("2102", service.ledger.upload_input(f"{DEV_NO}-{seq}")) for seq in (1, 2)
        )
        call = platform.url + "/fsi/api/call"
        first = httpx.post(call, json=two).json()["output"]["setlinfo"]
        assert first["status"] == "held"
        assert httpx.post(call, json=one).json()["output"]["setlinfo"]["status"] == "accepted"
        again = sync.envelope("2102", service.ledger.upload_input(f"{DEV_NO}-2"))
        assert httpx.post(call, json=again).json()["output"]["setlinfo"]["status"] == "accepted"
    finally:
        service.ledger.close()


def test_a_terminal_killed_mid_drain_resumes_without_loss_or_duplicate(
    platform: Platform, make_config: Callable[..., Path], demo_dir: Path
) -> None:
    config = ready_terminal(platform, make_config, "kill")
    sell(config, demo_dir, 400, offline=True)
    port = urlparse(platform.url).port
    assert port is not None
    slow = start_fault_proxy(port, delay=1.0, delay_ms=150, seed=3)
    try:
        env = medpos_env(config, MEDPOS_PLATFORM__URL=slow.url)
        drain = subprocess.Popen(
            [MEDPOS, "sync", "--once"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and slow.stats()["requests"] < 3:
            time.sleep(0.05)
        drain.send_signal(signal.SIGKILL)
        drain.wait(timeout=10)
        assert drain.returncode == -signal.SIGKILL
    finally:
        slow.stop()
    assert 0 < len(acks(config)) < 400  # killed part of the way through
    done = lines(medpos(config, "sync", "--once").stdout)[0]
    assert done["status"]["queue"] == 0
    statuses = {status for status, _ in acks(config).values()}
    assert len(acks(config)) == 400 and statuses == {"accepted"}
    assert platform.scalars("SELECT COUNT(*), COUNT(DISTINCT txn_id) FROM entries") == (400, 400)
    assert medpos(config, "ledger", "verify").returncode == 0
    assert medpos(config, "reconcile").returncode == 0
