"""Sync tests' shared parts: real hub processes on loopback, on a SQLite file or on a real
PostgreSQL the tests start themselves, and terminals to enrol with them."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HIGH_LIMITS, MEDPOS, free_port, medpos_env, wait_http, write_config
from tests.support.cli import in_process
from tests.support.postgres import PostgresServer, start_postgres

DEV_NO = "H33010000001D0001"


def medpos(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`medpos ARGS` through its `main` in this process (the hub stays a real process)."""
    return in_process(config, *args)


def lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@dataclass
class Platform:
    url: str
    db: str
    config: Path
    root: str

    def scalars(self, sql: str) -> tuple[Any, ...]:
        """One row of a query on the hub's database (SQLite or PostgreSQL)."""
        from sqlalchemy import text

        from sync.hub.db import open_engine

        engine = open_engine(self.db)
        try:
            with engine.connect() as conn:
                row = conn.execute(text(sql)).one()
        finally:
            engine.dispose()
        return tuple(row)

    def admin(self, *args: str) -> subprocess.CompletedProcess[str]:
        return medpos(self.config, "hub", *args, "--db", self.db)

    def enrol_code(self, dev_no: str = DEV_NO) -> str:
        done = self.admin("enrol-code", "--dev-no", dev_no)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's policy, catalogue, persons and claims, written once per test process: tests
    only read them (each copies what it changes into its own directory)."""
    out = tmp_path_factory.mktemp("demo")
    subprocess.run(
        [str(Path(MEDPOS).parent / "python"), "-m", "terminal.demo", "write", str(out)], check=True
    )
    return out


def start_hub(config: Path, db: str, port: int) -> subprocess.Popen[bytes]:
    """`medpos hub serve` on `db` and 127.0.0.1:`port`, once it answers."""
    proc = subprocess.Popen(
        [MEDPOS, "hub", "serve", "--db", db, "--port", str(port)],
        env=medpos_env(config),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc=proc)
    except AssertionError:
        proc.kill()
        raise
    return proc


class NoTransport:
    """A transport for tests that only build envelopes with a `SyncService`: never sends."""

    def call(self, envelope: Any, timeout_s: float | None = None) -> dict[str, Any]:
        raise AssertionError("not used")

    def batch(self, envelopes: Any, *, body: bytes | None = None) -> list[dict[str, Any]]:
        raise AssertionError("not used")

    def refdata(self, kind: str, since: int | None) -> tuple[int, dict[str, Any] | None]:
        raise AssertionError("not used")


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One real PostgreSQL cluster (initdb + pg_ctl in a temporary directory) for the session."""
    server = start_postgres(tmp_path_factory.mktemp("pg"))
    try:
        yield server
    finally:
        server.stop()


def hub_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh hub database URL for this test on `backend` ("sqlite" or "postgresql")."""
    if backend == "sqlite":
        return str(tmp_path / "platform" / "hub.db")
    server: PostgresServer = request.getfixturevalue("postgres")
    name = f"hub_{uuid.uuid4().hex[:12]}"
    server.run("createdb", "-h", "127.0.0.1", "-p", str(server.port), "-U", server.user, name)
    return server.url.rsplit("/", 1)[0] + "/" + name


@contextmanager
def serving_platform(
    backend: str, request: pytest.FixtureRequest, folder: Path, demo_dir: Path
) -> Iterator[Platform]:
    """A real hub process serving a fresh database on `backend` in `folder`, with the demo
    policy, catalogue and persons published; stopped at the end."""
    port = free_port()
    config = write_config(folder / "hub.toml", {})
    db = hub_database(backend, request, folder)
    keygen = medpos(config, "hub", "keygen", "--db", db)
    assert keygen.returncode == 0, keygen.stderr
    root = json.loads(keygen.stdout)["root_public_key"]
    for flag, name in (
        ("--policy", "policy.toml"),
        ("--catalogue", "catalogue.json"),
        ("--persons", "persons.json"),
    ):
        done = medpos(config, "hub", "publish", flag, str(demo_dir / name), "--db", db)
        assert done.returncode == 0, done.stderr
    proc = start_hub(config, db, port)
    try:
        yield Platform(f"http://127.0.0.1:{port}", db, config, root)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(params=["sqlite", "postgresql"])
def platform(request: pytest.FixtureRequest, tmp_path: Path, demo_dir: Path) -> Iterator[Platform]:
    """A real hub process serving a fresh database with the demo policy, catalogue, persons."""
    with serving_platform(request.param, request, tmp_path, demo_dir) as served:
        yield served


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, demo_dir: Path
) -> Iterator[Platform]:
    """`platform`, one for all the tests of a module that use it: for tests that each act as
    devices of their own and change nothing the others read (no reference data published,
    counts taken per device). A module using it is listed in ONE_WORKER_MODULES
    (tests/support/grouping.py), so that its tests run together and it starts once per backend."""
    folder = tmp_path_factory.mktemp("shared-platform")
    with serving_platform(request.param, request, folder, demo_dir) as served:
        yield served


def terminal_config(make_config: Callable[..., Path], platform: Platform, name: str) -> Path:
    return make_config(
        f"{name}.toml", risk=HIGH_LIMITS, platform={"url": platform.url, "batch_size": 50}
    )


class FakeTerminal:
    """A terminal reduced to its device key and chain, for messages a real one never sends
    together (a reversal before its original, refusals inside one batch): it enrols with the
    platform (9101) and makes chained, signed uploads from a real sale's input."""

    def __init__(self, platform: Platform, dev_no: str, sale: dict[str, Any]) -> None:
        import base64
        import hashlib

        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519

        self.platform, self.dev_no, self.sale = platform, dev_no, sale
        self._key = ed25519.Ed25519PrivateKey.generate()
        raw = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.seq, self.prev, self._sent = 0, "0" * 64, 0
        enrol = {
            "code": platform.enrol_code(dev_no),
            "public_key": base64.b64encode(raw).decode(),
            "key_id": hashlib.sha256(raw).hexdigest()[:16],
            "fixmedins_code": "P33010000001",
            "dev_name": "fake",
        }
        [answer] = self.post(self.envelope("9101", enrol, signed=False))
        assert answer["infcode"] == 0, answer

    def _sign(self, data: bytes) -> str:
        import base64

        return base64.b64encode(self._key.sign(data)).decode()

    def envelope(
        self,
        infno: str,
        data: dict[str, Any],
        *,
        signed: bool = True,
        msgid: str | None = None,
        inf_time: Any = None,
    ) -> dict[str, Any]:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        from sync.protocol.envelope import build_request

        now = inf_time or datetime.now(ZoneInfo("Asia/Shanghai"))  # the platform's region
        self._sent += 1
        return build_request(
            infno=infno,
            msgid=msgid or f"{self.dev_no}{now:%Y%m%d%H%M%S}{self._sent:04d}",
            dev_no=self.dev_no,
            key_id="",
            inf_time=now,
            input=data,
            sign=self._sign if signed else None,
        )

    def _chain(self, data: dict[str, Any]) -> dict[str, Any]:
        from sync.protocol.upload import entry_hash

        self.seq += 1
        data["txn_id"] = f"{self.dev_no}-{self.seq}"
        data["ledger"] = {"seq": self.seq, "prev_hash": self.prev}
        digest = entry_hash(data)
        data["ledger"].update(hash=digest, sig=self._sign(bytes.fromhex(digest)))
        self.prev = digest
        return data

    def upload(self) -> dict[str, Any]:
        """The next sale's upload input: the real sale's, chained on this device."""
        return self._chain(json.loads(json.dumps(self.sale)))

    def reversal(self, orig_txn_id: str) -> dict[str, Any]:
        return self._chain(
            {
                "orig_txn_id": orig_txn_id,
                "settled_at": self.sale["settled_at"],
                "reason": "returned",
                "operator": "sup01",
            }
        )

    def post(self, *envelopes: dict[str, Any]) -> list[dict[str, Any]]:
        """One batch to the platform; its answers."""
        import httpx

        reply = httpx.post(
            self.platform.url + "/fsi/api/batch", json={"messages": list(envelopes)}, timeout=60
        )
        assert reply.status_code == 200, reply.text
        results: list[dict[str, Any]] = reply.json()["results"]
        return results


@pytest.fixture
def sale_input(make_config: Callable[..., Path], demo_dir: Path) -> dict[str, Any]:
    """A real sale's upload input (the demo pharmacy claim), without its txn_id and ledger."""
    from terminal.bootstrap import open_terminal
    from terminal.config import load_config

    config = make_config("seller.toml", risk=HIGH_LIMITS)
    service = open_terminal(load_config(config, env={}))
    try:
        service.sell_claim(json.loads((demo_dir / "claim-pharmacy.json").read_text()))
        data = service.ledger.upload_input(f"{DEV_NO}-1")
    finally:
        service.ledger.close()
    data["catalogue_version"] = 1  # the version the platform fixture publishes
    return {k: v for k, v in data.items() if k not in ("txn_id", "ledger")}
