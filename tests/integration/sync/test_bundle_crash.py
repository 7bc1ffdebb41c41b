"""kill -9 during `medpos sync export` and `medpos sync import` (issue 17, "Power loss"): an
export killed leaves no partial bundle under the final name and the outbox as it was; an import
killed leaves the acknowledgements all applied or none, and importing again completes it."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from sync.hub.bundles import answer_bundle
from sync.protocol.bundle import check_bundle, write_atomic
from sync.protocol.canonical import canonical_json
from terminal.demo.__main__ import main as write_demo
from tests.conftest import HIGH_LIMITS, MEDPOS, medpos_env
from tests.integration.sync.test_bundles import A, Platform, ok
from tests.support.cli import in_process as medpos

SALES = 40
KILLS = 2


def _rows(config: Path, sql: str) -> set[str]:
    db = sqlite3.connect(config.parent / "var" / "medpos.db")
    try:
        return {r[0] for r in db.execute(sql)}
    finally:
        db.close()


def _killed(config: Path, *args: str, when: Callable[[], bool], at_s: float) -> None:
    """`medpos ARGS` as a process, killed with SIGKILL as soon as `when()` holds or `at_s`
    seconds have passed, whichever comes first (or not at all when it ends before)."""
    proc = subprocess.Popen(
        [MEDPOS, *args], env=medpos_env(config), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + at_s
    while proc.poll() is None and not when() and time.monotonic() < deadline:
        time.sleep(0.0005)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()


def test_kill_9_mid_export_and_mid_import_loses_and_half_writes_nothing(
    make_config: Callable[..., Path], tmp_path: Path
) -> None:
    demo = tmp_path / "demo"
    assert write_demo(["write", str(demo)]) == 0
    hub = Platform(str(tmp_path / "hub.db"))
    hub.hub.keygen()
    hub.hub.publish("policy", (demo / "policy.toml").read_text(encoding="utf-8"))
    hub.hub.publish("catalogue", json.loads((demo / "catalogue.json").read_text()))
    config = make_config(
        risk={**HIGH_LIMITS, "max_sync_age_h": 240},
        terminal={"dev_no": A},
        platform={"url": f"http://127.0.0.1:{hub.port}", "presettle_wait_s": 0.2},
    )
    with hub.up():
        ok(medpos(config, "enrol", "--code", hub.hub.enrol_code(A)))
    claim = str(demo / "claim-pharmacy.json")
    ok(medpos(config, "checkout", "--claim", claim, "--repeat", str(SALES)))
    queued = _rows(config, "SELECT txn_id FROM outbox")
    assert len(queued) == SALES

    stick = tmp_path / "stick"
    final = stick / f"{A}-1-{SALES}.medpos.json"
    rng = random.Random(20261207)
    for _ in range(KILLS):
        started = lambda: any(stick.glob(".*.tmp")) if stick.exists() else False  # noqa: E731
        _killed(
            config, "sync", "export", "--to", str(stick), when=started, at_s=rng.uniform(0.5, 2)
        )
        if final.exists():  # renamed before the kill: then it is whole
            check_bundle(json.loads(final.read_bytes()))
        assert _rows(config, "SELECT txn_id FROM outbox") == queued  # nothing left the outbox
    exported = json.loads(ok(medpos(config, "sync", "export", "--to", str(stick))).stdout)
    assert Path(exported["file"]) == final and check_bundle(json.loads(final.read_bytes()))
    assert not list(stick.glob(".*.tmp"))  # a killed export's temporary file: replaced

    answer = answer_bundle(hub.hub, json.loads(final.read_bytes()))
    answer_path = stick / "answer.json"
    write_atomic(answer_path, canonical_json(answer, strict=False))
    for _ in range(KILLS):
        _killed(
            config,
            "sync",
            "import",
            str(answer_path),
            when=lambda: False,
            at_s=rng.uniform(0.5, 1.5),
        )
        outbox = _rows(config, "SELECT txn_id FROM outbox")
        acked = _rows(config, "SELECT txn_id FROM acks")
        assert outbox.isdisjoint(acked) and outbox | acked == queued
        assert outbox in (set(), queued)  # one unit of work: all the answers or none
    applied = json.loads(ok(medpos(config, "sync", "import", str(answer_path))).stdout)
    assert applied["already"] or sum(applied["upload"]["acked"].values()) == SALES
    assert _rows(config, "SELECT txn_id FROM outbox") == set()
    assert _rows(config, "SELECT txn_id FROM acks") == queued
    hub.engine.dispose()
