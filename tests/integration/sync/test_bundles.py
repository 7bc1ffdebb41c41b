"""Bundles with real parts (issue 17): terminal A five days without network (its clock moved
forward day by day) sells, exports a bundle to a directory; terminal B relays it to a real hub
process and brings the answer back; A imports it. The outbox is empty, reconciliation matches,
persons and hotlist are fresh; the same bundle again changes nothing; an edited one is refused."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from terminal.demo.__main__ import main as write_demo
from tests.conftest import HIGH_LIMITS, free_port, wait_http
from tests.integration.sync.conftest import lines
from tests.support.cli import in_process as medpos

A, B = "H33010000001D0001", "H33010000001D0002"
DAY_S = 86400
FIELD_RISK = {**HIGH_LIMITS, "max_sync_age_h": 240}  # docs/field.md: ten days away


class Platform:
    """A real hub (`sync.hub.app` over a SQLite file) served by uvicorn on loopback in a thread,
    started and stopped at will (no network for terminal A), its clock `shift_s` ahead."""

    def __init__(self, db: str) -> None:
        from sync.hub.db import migrate, open_engine
        from sync.hub.service import Hub

        self.db, self.port, self.shift_s = db, free_port(), 0
        self.engine = open_engine(db)
        migrate(self.engine)
        self.hub = Hub(self.engine, clock=lambda: time.time() + self.shift_s)

    @contextmanager
    def up(self) -> Iterator[None]:
        import uvicorn

        from sync.hub.app import create_app

        config = uvicorn.Config(
            create_app(self.hub), host="127.0.0.1", port=self.port, log_level="warning"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            wait_http(f"http://127.0.0.1:{self.port}/health")
            yield
        finally:
            server.should_exit = True
            thread.join(30)

    def entries(self) -> int:
        db = sqlite3.connect(self.db)
        try:
            return int(db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
        finally:
            db.close()


def at_day(day: int) -> dict[str, str]:
    return {"MEDPOS_CLOCK_OFFSET_S": str(day * DAY_S)}


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, done.stderr
    return done


def _query(config: Path, sql: str) -> list[Any]:
    db = sqlite3.connect(config.parent / "var" / "medpos.db")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_five_days_offline_then_a_bundle_relayed_by_another_terminal(
    make_config: Callable[..., Path], tmp_path: Path
) -> None:
    demo_dir = tmp_path / "demo"
    assert write_demo(["write", str(demo_dir)]) == 0
    hub_config = make_config("hub.toml")
    (tmp_path / "platform").mkdir()
    hub = Platform(str(tmp_path / "platform" / "hub.db"))
    (tmp_path / "hotlist.json").write_text(
        json.dumps({"entries": [{"kind": "card_no", "value": "X0000001", "reason": "lost"}]})
    )
    ok(medpos(hub_config, "hub", "keygen", "--db", hub.db))
    for flag, path in (
        ("--policy", demo_dir / "policy.toml"),
        ("--catalogue", demo_dir / "catalogue.json"),
        ("--hotlist", tmp_path / "hotlist.json"),
    ):
        ok(medpos(hub_config, "hub", "publish", flag, str(path), "--db", hub.db))
    persons = str(demo_dir / "persons.json")
    ok(medpos(hub_config, "hub", "publish", "--persons", persons, "--assign", A, "--db", hub.db))
    url = f"http://127.0.0.1:{hub.port}"
    a, b = (
        make_config(
            f"{dev}.toml",
            risk=FIELD_RISK,
            terminal={"dev_no": dev},
            platform={"url": url, "presettle_wait_s": 0.2},
        )
        for dev in (A, B)
    )
    with hub.up():
        for config, dev in ((a, A), (b, B)):
            code = ok(medpos(hub_config, "hub", "enrol-code", "--dev-no", dev, "--db", hub.db))
            ok(medpos(config, "enrol", "--code", code.stdout.strip()))
        # the field profile: five days are covered, nine are not (the hotlist lapses on day 7)
        prepared = lines(ok(medpos(a, "field", "prepare", "--days", "5")).stdout)[0]
        assert prepared["covered"] and prepared["persons"]["cached"] >= 1
        too_long = medpos(a, "field", "prepare", "--days", "9")
        assert too_long.returncode == 1
        assert "max_hotlist_age_days (7) on day 7" in too_long.stderr

    # five days with no network at all: one sale a day
    claim = str(demo_dir / "claim-pharmacy.json")
    sold = [
        lines(ok(medpos(a, "checkout", "--claim", claim, env=at_day(d))).stdout)[0]
        for d in range(1, 6)
    ]
    stick = tmp_path / "stick"
    exported = lines(ok(medpos(a, "sync", "export", "--to", str(stick), env=at_day(5))).stdout)[0]
    bundle = Path(exported["file"])
    assert bundle.name == f"{A}-1-5.medpos.json" and exported["messages"] == 5
    assert (bundle.stat().st_mode & 0o777) == 0o600
    assert _query(a, "SELECT COUNT(*) FROM outbox") == [(5,)]  # nothing left the outbox

    hub.shift_s = 5 * DAY_S
    with hub.up():
        answer = Path(
            ok(
                medpos(b, "sync", "relay", str(bundle), "--to", str(stick), env=at_day(5))
            ).stdout.strip()
        )
        assert answer.parent == stick and hub.entries() == 5
        # carried again (a second stick, a second relay): nothing new at the platform
        again = ok(medpos(b, "sync", "relay", str(bundle), "--to", str(tmp_path), env=at_day(5)))
        assert hub.entries() == 5
        assert _statuses(Path(again.stdout.strip())) == _statuses(answer)

        applied = lines(ok(medpos(a, "sync", "import", str(answer), env=at_day(5))).stdout)[0]
        assert applied["upload"]["acked"] == {"accepted": 5}
        status = json.loads(ok(medpos(a, "sync", "status", env=at_day(5))).stdout)
        assert status["queue"] == 0
        days = _query(a, "SELECT DISTINCT setl_date FROM txns ORDER BY setl_date")
        assert len(days) == 5 and len(sold) == 5
        for (day,) in (days[0], days[-1]):
            ok(medpos(a, "reconcile", "--date", day, env=at_day(5)))  # exit 0: it matches
        ages = dict(_query(a, "SELECT kind, confirmed_at FROM refdata"))
        assert ages["hotlist"][:10] == ages["persons"][:10] == days[-1][0]
        # the same answer again changes nothing
        assert lines(ok(medpos(a, "sync", "import", str(answer), env=at_day(5))).stdout)[0] == {
            "already": True,
            "changed": 0,
        }

        # edited in transit: the sha256 catches a change alone; recomputed, the signature does
        edited = json.loads(bundle.read_text())
        edited["messages"][3]["input"]["claim"]["visit"]["date"] = "2000-01-01"
        (tmp_path / "edited.json").write_text(json.dumps(edited))
        refused = medpos(
            b, "sync", "relay", str(tmp_path / "edited.json"), "--to", str(tmp_path), env=at_day(5)
        )
        assert refused.returncode == 1 and "sha256" in refused.stderr
        from sync.protocol.bundle import digest

        edited["sha256"] = digest(edited["messages"])
        (tmp_path / "edited.json").write_text(json.dumps(edited))
        refused = medpos(
            b, "sync", "relay", str(tmp_path / "edited.json"), "--to", str(tmp_path), env=at_day(5)
        )
        assert refused.returncode == 1
        assert f"message 3 (msgid {edited['messages'][3]['msgid']})" in refused.stderr
        assert "bad_signature" in refused.stderr and hub.entries() == 5
        # the platform's own door takes the same bundle the same way
        by_hand = medpos(
            hub_config,
            "hub",
            "import",
            str(tmp_path / "edited.json"),
            "--to",
            str(tmp_path),
            "--db",
            hub.db,
        )
        assert by_hand.returncode == 1 and "message 3" in by_hand.stderr
        by_hand = ok(
            medpos(
                hub_config,
                "hub",
                "import",
                str(bundle),
                "--to",
                str(tmp_path / "hub"),
                "--db",
                hub.db,
            )
        )
        assert _statuses(Path(by_hand.stdout.strip())) == ["accepted"] * 5 and hub.entries() == 5
    hub.engine.dispose()


def _statuses(answer: Path) -> list[Any]:
    return [r["output"]["setlinfo"]["status"] for r in json.loads(answer.read_text())["results"]]
