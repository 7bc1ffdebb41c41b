"""Bundles against the network (issue 17, section Measure): the same sales sent two ways.

One terminal enrols with a hub and sells offline; its database and the hub's are copied, so the
two runs start from the very same state. (a) The outbox drained over HTTP on loopback to a
`medpos hub serve` process, in batches of the embedded default's `[platform] batch_size`.
(b) `sync export` to a directory, the platform's `hub import` of that file (answer written into
the directory), and `sync import` of the answer on the terminal. Target: (b) ≤ 1.2× (a)'s time.
Default 2,000 sales (under a minute); `--full` is the issue's 5,000.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sync.client.http import HttpPlatform, platform_client
from sync.hub.bundles import answer_bundle
from sync.hub.db import migrate, open_engine
from sync.hub.service import Hub
from sync.protocol.bundle import MAX_BUNDLE_BYTES, answer_name, write_atomic
from sync.protocol.canonical import canonical_json
from terminal.bootstrap import open_terminal
from terminal.checkout.syncing import SyncService
from terminal.checkout.syncing.bundles import export_bundle, import_answer
from terminal.config import Config, load_config
from terminal.demo import demo_catalogue, demo_claim, demo_persons, demo_policy_text
from tests.conftest import HIGH_LIMITS, free_port, write_config
from tests.integration.sync.conftest import start_hub

TARGET = 1.2
DEV = "H33010000001D0001"


def _sync(config: Config, db: Path, url: str) -> tuple[SyncService, HttpPlatform]:
    service = open_terminal(config, db_path=db)
    transport = HttpPlatform(
        platform_client(url, timeout_s=120), device=(DEV, service.ledger.key.sign_b64)
    )
    return SyncService(service.ledger, service.config, service.clock, transport), transport


def _setup(root: Path, sales: int) -> tuple[Path, Config]:
    """A hub database and a terminal database holding `sales` sales not yet sent."""
    engine = open_engine(str(root / "hub.db"))
    migrate(engine)
    hub = Hub(engine)
    hub.keygen()
    today = datetime.now().date()
    hub.publish("policy", demo_policy_text(today.year))
    hub.publish("catalogue", demo_catalogue())
    hub.publish("persons", demo_persons(today))
    code = hub.enrol_code(DEV)
    port = free_port()
    path = write_config(
        root / "terminal.toml",
        {"risk": HIGH_LIMITS, "platform": {"url": f"http://127.0.0.1:{port}"}},
    )
    config = load_config(path, env={})
    proc = start_hub(path, str(root / "hub.db"), port)
    try:
        sync, transport = _sync(config, root / "terminal.db", f"http://127.0.0.1:{port}")
        try:
            sync.enrol(code)
            service = open_terminal(config, db_path=root / "terminal.db")  # sells offline
            claim = demo_claim("pharmacy", service.local_now().date())
            for _ in range(sales):
                service.sell_claim(claim)
            service.ledger.close()
        finally:
            transport.close()
            sync.ledger.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    engine.dispose()
    return path, config


def _copy(root: Path, name: str) -> Path:
    out = root / name
    out.mkdir()
    for file in root.iterdir():  # the databases and the device key beside the terminal's
        if file.is_file() and file.suffix != ".toml":
            shutil.copy(file, out / file.name)
    return out


def bench_http(root: Path, path: Path, config: Config, sales: int) -> float:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_hub(path, str(root / "hub.db"), port)
    try:
        sync, transport = _sync(config, root / "terminal.db", url)
        try:
            started = time.perf_counter()
            report = sync.drain()
            elapsed = time.perf_counter() - started
        finally:
            transport.close()
            sync.ledger.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert report.acked.get("accepted") == sales, report.as_json()
    return elapsed


def bench_bundle(root: Path, config: Config, sales: int) -> tuple[float, int]:
    engine = open_engine(str(root / "hub.db"))
    hub = Hub(engine)
    sync, transport = _sync(config, root / "terminal.db", "http://127.0.0.1:9")  # no network
    stick = root / "stick"
    try:
        started = time.perf_counter()
        exported = export_bundle(sync, stick)  # the terminal
        assert exported.path is not None
        bundle = _read_json(exported.path)  # the platform
        answer = answer_bundle(hub, bundle)
        answer_path = stick / answer_name(answer["dev_no"], bundle["messages"])
        write_atomic(answer_path, canonical_json(answer, strict=False))
        applied = import_answer(sync, _read_json(answer_path))  # the terminal again
        elapsed = time.perf_counter() - started
        size = exported.path.stat().st_size
    finally:
        transport.close()
        sync.ledger.close()
        engine.dispose()
    assert applied["upload"]["acked"].get("accepted") == sales, applied
    return elapsed, size


def _read_json(path: Path) -> Any:
    import json

    data = path.read_bytes()
    assert len(data) <= MAX_BUNDLE_BYTES
    return json.loads(data)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bundle")
    parser.add_argument("--sales", type=int, default=2000)
    parser.add_argument("--full", action="store_true", help="the issue's 5,000 sales")
    args = parser.parse_args(argv)
    sales = 5000 if args.full else args.sales
    with tempfile.TemporaryDirectory(prefix="medpos-bench-bundle-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        path, config = _setup(root, sales)
        print(f"{sales} sales made in {time.perf_counter() - started:.1f} s", flush=True)
        http_root, bundle_root = _copy(root, "http"), _copy(root, "bundle")
        http_s = bench_http(http_root, path, config, sales)
        bundle_s, size = bench_bundle(bundle_root, config, sales)
    ratio = bundle_s / http_s
    ok = ratio <= TARGET
    print(
        f"{sales} sales: drained over HTTP (batches of {config.platform.batch_size}) in "
        f"{http_s:.2f} s ({sales / http_s:.0f} sales/s); export + hub import + import in "
        f"{bundle_s:.2f} s ({sales / bundle_s:.0f} sales/s, bundle {size / 1e6:.1f} MB); "
        f"ratio {ratio:.2f}× (target ≤ {TARGET}×) {'PASS' if ok else 'MISS'}",
        flush=True,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
