"""The platform side of a running terminal: the background sync loop, and the embedded default's
local platform (`[platform] embedded = true`, what `medpos run` starts).

The local platform is a reference hub process on the `[platform] url` port, over `hub.db` in the
data directory, set up on first start with a root key and the demo policy, catalogue, persons,
hotlist and a trust list holding this data directory's demo e-card issuer; the terminal enrols
with it once. The sync loop syncs every `[platform] sync_interval_s` on its own database
connection.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

from sync.client.http import PlatformRefusedHttp
from terminal.checkout.syncing import HEARTBEAT_MAX_INTERVAL_S, SyncService
from terminal.config import Config
from terminal.errors import MedposError, SyncError
from terminal.files import create_private_database, write_private_file
from terminal.ledger import retry_pending_now

__all__ = ["SyncLoop", "enrol_with_local_hub", "prepare_local_hub", "start_local_hub"]

Say = Callable[[str], None]
ENROL_CODE_FILE = "hub-enrol-code"


def prepare_local_hub(config: Config, data_dir: Path, now: datetime) -> str:
    """The local hub's database URL, set up on first start (root key, demo reference data, an
    enrolment code for this terminal left in the data directory)."""
    from sync.hub.db import migrate, open_engine
    from sync.hub.errors import HubError
    from sync.hub.service import Hub
    from terminal.demo import demo_catalogue, demo_persons, demo_policy_text
    from terminal.demo.ecard import demo_issuer_key, demo_trust_list

    db = str(data_dir / "hub.db")
    create_private_database(Path(db))  # the platform's root key lives in it: 0600
    engine = open_engine(db)
    try:
        migrate(engine)
        hub = Hub(engine, zone=config.terminal.timezone)
        try:
            hub.root_public_b64()
            return db  # set up before
        except HubError:
            hub.keygen()
        today = now.date()
        hub.publish("policy", demo_policy_text(today.year))
        hub.publish("catalogue", demo_catalogue())
        persons = demo_persons(today)
        hub.publish("persons", persons)
        # the demo persons are this terminal's to know (platform-api.md: persons refdata)
        hub.assign_persons(config.terminal.dev_no, [p["person"]["psn_cert"] for p in persons])
        hub.publish("hotlist", {"entries": []})
        hub.publish("trustlist", demo_trust_list(demo_issuer_key(data_dir), int(now.timestamp())))
        code = hub.enrol_code(
            config.terminal.dev_no,
            fixmedins_code=config.terminal.fixmedins_code,
            fixmedins_name=config.terminal.fixmedins_name,
            mdtrtarea_admvs=config.terminal.region,
        )
        write_private_file(data_dir / ENROL_CODE_FILE, (code + "\n").encode("ascii"))
    finally:
        engine.dispose()
    return db


def start_local_hub(config: Config, db: str) -> subprocess.Popen[bytes]:
    """`medpos hub serve` over `db` on the port of `[platform] url`, as a process of its own."""
    port = urlparse(config.platform.url).port or 8710
    return subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "terminal.cli", "hub", "serve", "--db", db, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def enrol_with_local_hub(sync: SyncService, data_dir: Path, say: Say) -> None:
    """Wait until the local hub listens, then enrol once with the code it left."""
    deadline = time.monotonic() + 60  # the hub takes a moment to listen (longer on a busy box)
    while time.monotonic() < deadline:
        try:
            sync.transport.refdata("policy", 10**9)
            break
        except PlatformRefusedHttp:
            break  # it answers (401 before enrolment: the device is not known yet)
        except SyncError:
            time.sleep(0.1)
    code_file = data_dir / ENROL_CODE_FILE
    if sync.ledger.get_meta("root_public_key") is None and code_file.exists():
        try:
            sync.enrol(code_file.read_text().strip())
            code_file.unlink()
        except SyncError as exc:
            say(f"platform: enrolment failed: {exc}")


class SyncLoop:
    """Drains the outbox and refreshes reference data every `interval_s`, on a sync service of
    its own (`open_sync()` gives it and what closes it: its own database connection and client),
    until stopped; `now()` syncs at once and waits for that round (the page's "sync now")."""

    def __init__(
        self,
        open_sync: Callable[[], tuple[SyncService, Callable[[], None]]],
        interval_s: float,
        say: Say,
    ) -> None:
        self._open_sync = open_sync
        self.interval_s = interval_s
        self._say = say
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._asked = False  # "sync now": retry waiting sales at once, whatever their backoff
        self._rounds = 0
        self._busy = False
        self._done = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="sync", daemon=True)

    def start(self) -> SyncLoop:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def now(self, timeout: float = 30.0) -> None:
        with self._done:
            # a round under way may have read the outbox before the request: then the next one
            target = self._rounds + (2 if self._busy else 1)
            self._asked = True
            self._wake.set()
            self._done.wait_for(lambda: self._rounds >= target or self._stop.is_set(), timeout)

    def _run(self) -> None:
        sync, close = self._open_sync()
        try:
            while not self._stop.is_set():
                with self._done:
                    self._wake.clear()
                    self._busy = True
                self._round(sync)
                with self._done:
                    self._rounds += 1
                    self._busy = False
                    self._done.notify_all()
                self._wake.wait(min(self.interval_s, HEARTBEAT_MAX_INTERVAL_S))
        finally:
            close()

    def _round(self, sync: SyncService) -> None:
        try:
            if self._asked:
                self._asked = False
                retry_pending_now(sync.ledger)
            report = sync.drain()
            if report.error is None:
                if report.sent == 0:  # nothing acknowledged: the platform's chain head
                    sync.check_chain_head()
                sync.refresh_refdata()
                sync.heartbeat()
        except MedposError as exc:
            self._say(f"sync: {exc}")
