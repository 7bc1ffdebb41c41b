"""Sync tests' shared parts: real hub processes on loopback, on a SQLite file or on a real
PostgreSQL the tests start themselves, and terminals to enrol with them."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HIGH_LIMITS, MEDPOS, free_port, medpos_env, wait_http
from tests.support.postgres import PostgresServer, start_postgres

DEV_NO = "H33010000001D0001"


def medpos(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MEDPOS, *args],
        capture_output=True,
        text=True,
        env=medpos_env(config),
        timeout=300,
        check=False,
    )


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


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
        wait_http(f"http://127.0.0.1:{port}/health")
    except AssertionError:
        proc.kill()
        raise
    return proc


class NoTransport:
    """A transport for tests that only build envelopes with a `SyncService`: never sends."""

    def call(self, envelope: Any, timeout_s: float | None = None) -> dict[str, Any]:
        raise AssertionError("not used")

    def batch(self, envelopes: Any) -> list[dict[str, Any]]:
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


@pytest.fixture(params=["sqlite", "postgresql"])
def platform(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    make_config: Callable[..., Path],
    demo_dir: Path,
) -> Iterator[Platform]:
    """A real hub process serving a fresh database with the demo policy, catalogue, persons."""
    port = free_port()
    config = make_config("hub.toml")
    db = hub_database(request.param, request, tmp_path)
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


def terminal_config(make_config: Callable[..., Path], platform: Platform, name: str) -> Path:
    return make_config(
        f"{name}.toml", risk=HIGH_LIMITS, platform={"url": platform.url, "batch_size": 50}
    )
