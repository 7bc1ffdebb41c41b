"""The embedded default's local platform (`[platform] embedded = true`): what `medpos run` starts.

A reference hub process on the `[platform] url` port, over `hub.db` in the data directory, set
up on first start with a root key and the demo policy, catalogue, persons, hotlist and a trust list
holding this data directory's demo e-card issuer; the terminal is enrolled with it; a background
thread syncs every `[platform] sync_interval_s` on its own database connection.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import Any
from urllib.parse import urlparse

from terminal.cli._common import Context

__all__ = ["SyncLoop", "start_embedded_platform", "start_sync_loop"]


def _prepare_hub(ctx: Context, service: Any, db: str) -> None:
    from sync.hub.db import migrate, open_engine
    from sync.hub.errors import HubError
    from sync.hub.service import Hub
    from terminal.demo import demo_catalogue, demo_persons, demo_policy_text
    from terminal.demo.ecard import demo_issuer_key, demo_trust_list

    engine = open_engine(db)
    try:
        migrate(engine)
        hub = Hub(engine, zone=ctx.config.terminal.timezone)
        try:
            hub.root_public_b64()
            return  # set up before
        except HubError:
            hub.keygen()
        today = service.local_now().date()
        stamp = int(service.clock.now().timestamp())
        hub.publish("policy", demo_policy_text(today.year))
        hub.publish("catalogue", demo_catalogue())
        hub.publish("persons", demo_persons(today))
        hub.publish("hotlist", {"entries": []})
        issuer = demo_issuer_key(service.ledger.path.parent)
        hub.publish("trustlist", demo_trust_list(issuer, stamp))
        code = hub.enrol_code(
            ctx.config.terminal.dev_no,
            fixmedins_code=ctx.config.terminal.fixmedins_code,
            fixmedins_name=ctx.config.terminal.fixmedins_name,
            mdtrtarea_admvs=ctx.config.terminal.region,
        )
        (service.ledger.path.parent / "hub-enrol-code").write_text(code + "\n")
    finally:
        engine.dispose()


def start_embedded_platform(ctx: Context, service: Any) -> SyncLoop:
    """Start the local hub, enrol with it once, and sync in the background."""
    from sync.client.http import HttpPlatform
    from terminal.checkout.syncing import SyncService
    from terminal.errors import SyncError

    config = ctx.config
    data_dir = service.ledger.path.parent
    db = str(data_dir / "hub.db")
    _prepare_hub(ctx, service, db)
    port = urlparse(config.platform.url).port or 8710
    env = dict(os.environ)
    proc = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "terminal.cli", "hub", "serve", "--db", db, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ctx.on_close(proc.terminate)
    transport = HttpPlatform(config.platform.url, timeout_s=config.platform.timeout_s)
    ctx.on_close(transport.close)
    sync = SyncService(service, transport)
    for _ in range(100):  # the hub takes a moment to listen
        try:
            transport.refdata("policy", 10**9)
            break
        except SyncError:
            time.sleep(0.1)
    code_file = data_dir / "hub-enrol-code"
    if service.ledger.get_meta("root_public_key") is None and code_file.exists():
        try:
            sync.enrol(code_file.read_text().strip())
            code_file.unlink()
        except SyncError as exc:
            print(f"platform: enrolment failed: {exc}", flush=True)
    service.platform = sync  # pre-settlement asks the platform first (bounded wait)
    loop = start_sync_loop(ctx, service)
    print(
        f"platform: local reference platform at {config.platform.url}, syncing every "
        f"{config.platform.sync_interval_s:g} s",
        flush=True,
    )
    return loop


class SyncLoop:
    """Drains the outbox and refreshes reference data every `[platform] sync_interval_s`, on a
    database connection of its own, until the command ends; `now()` syncs at once and waits for
    that round (the page's "sync now")."""

    def __init__(self, ctx: Context, db_path: Any) -> None:
        self.ctx = ctx
        self.db_path = db_path
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._asked = False  # "sync now": retry waiting sales at once, whatever their backoff
        self._rounds = 0
        self._busy = False
        self._done = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="sync", daemon=True)

    def start(self) -> SyncLoop:
        self.thread.start()
        self.ctx.on_close(self.stop)
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
        from sync.client.http import HttpPlatform
        from terminal.bootstrap import open_terminal
        from terminal.checkout.syncing import SyncService
        from terminal.errors import MedposError

        config = self.ctx.config
        service = open_terminal(config, db_path=self.db_path)
        transport = HttpPlatform(config.platform.url, timeout_s=config.platform.timeout_s)
        try:
            sync = SyncService(service, transport)
            while not self._stop.is_set():
                with self._done:
                    self._wake.clear()
                    self._busy = True
                try:
                    if self._asked:
                        self._asked = False
                        with service.ledger.write() as unit:
                            service.ledger.conn.execute(
                                "UPDATE outbox SET next_attempt_at = NULL WHERE state = 'pending'"
                            )
                            unit.commit()
                    report = sync.drain()
                    if report.error is None:
                        sync.refresh_refdata()
                except MedposError as exc:
                    print(f"sync: {exc}", flush=True)
                with self._done:
                    self._rounds += 1
                    self._busy = False
                    self._done.notify_all()
                self._wake.wait(config.platform.sync_interval_s)
        finally:
            transport.close()
            service.ledger.close()


def start_sync_loop(ctx: Context, service: Any) -> SyncLoop:
    """The background sync of an enrolled terminal."""
    return SyncLoop(ctx, service.ledger.path).start()
