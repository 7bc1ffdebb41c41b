"""Shared fixtures: a terminal configuration of its own for each test, on a real database file.

Also the suite's run-wide rules: the Hypothesis profile (tests/support/profiles.py), coverage
measured in tests/unit alone (tests/support/coverage_scope.py) and the `vpcd` group
(tests/support/grouping.py). pcscd is one daemon per machine and vpcd's virtual
readers listen on fixed ports, so every test that inserts virtual cards, starts `medpos run` or
drives the cashier's pages through them is marked `vpcd` here, by path, fixture or its own mark,
so that nobody has to remember it; under pytest-xdist (`--dist loadgroup`) one worker runs them
one after another while the other workers run everything else.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cli import MEDPOS as MEDPOS
from tests.support.cli import medpos_env as medpos_env
from tests.support.coverage_scope import CoverageScope
from tests.support.grouping import VPCD, VPCD_FIXTURES, VpcdGroupPlugin, in_vpcd_paths
from tests.support.profiles import load_profile

ROOT = Path(__file__).resolve().parent.parent

load_profile()


def uses_vpcd(item: pytest.Item) -> bool:
    """True when `item` reaches the machine-wide pcscd/vpcd: by its path, fixtures or mark."""
    fixtures = set(getattr(item, "fixturenames", ()))
    return (
        in_vpcd_paths(item.nodeid)
        or bool(fixtures & VPCD_FIXTURES)
        or item.get_closest_marker(VPCD) is not None
    )


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    strays = []
    for item in items:
        if uses_vpcd(item):
            item.add_marker(pytest.mark.vpcd)
            item.add_marker(pytest.mark.xdist_group(VPCD))
            if not in_vpcd_paths(item.nodeid):
                strays.append(item.nodeid)
    if strays:
        raise pytest.UsageError(
            "these tests use pcscd/vpcd outside the paths the xdist scheduler groups: "
            f"{', '.join(strays)}: move them, or add their path to VPCD_PATHS "
            "(tests/support/grouping.py)"
        )


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(VpcdGroupPlugin(), "medpos-vpcd-group")
    if config.pluginmanager.hasplugin("_cov"):
        config.pluginmanager.register(CoverageScope(), "medpos-coverage-scope")


# Limits high enough for tests and benchmarks that make many sales (DESIGN.md "Offline risk").
HIGH_LIMITS = {
    "offline_max_fund_per_sale": "100000000.00",
    "offline_max_sales_per_person_day": 100000000,
    "offline_max_fund_per_person_day": "100000000000.00",
    "max_unsynced_fund": "100000000000.00",
}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, overrides: dict[str, dict[str, Any]]) -> Path:
    """A copy of the embedded config.toml with `overrides` applied, its data dir beside it."""
    base = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    base["terminal"]["data_dir"] = str(path.parent / "var")
    base["printer"]["path"] = str(path.parent / "var" / "receipts")
    for section, values in overrides.items():
        base.setdefault(section, {}).update(values)
    lines = []
    for section, values in base.items():
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in values.items())
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Path]:
    """`make_config(risk={...}, ...)` → path of a config file in this test's directory."""

    def make(name: str = "config.toml", **overrides: dict[str, Any]) -> Path:
        return write_config(tmp_path / name, overrides)

    return make


@pytest.fixture
def config_path(make_config: Callable[..., Path]) -> Path:
    """The embedded default, with its own data directory."""
    return make_config()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No MEDPOS_* variables from the caller's environment leak into a test."""
    for key in list(os.environ):
        if key.startswith("MEDPOS_"):
            monkeypatch.delenv(key)
    yield


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


_EPHEMERAL = _ephemeral_range()
_ports = random.Random(os.getpid() ^ time.monotonic_ns())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, outside the kernel's ephemeral range.

    A port the kernel handed out (bind to 0) comes from the range it also gives to outgoing
    connections: under load another test's client socket could take it before our server binds,
    and that server then never answers. Ports below the range are never given out that way."""
    low, high = 20000, _EPHEMERAL[0] - 1
    if high - low < 1000:  # an unusual range: fall back to the kernel's choice
        low, high = 0, 0
    for _ in range(200):
        port = _ports.randint(low, high) if high else 0
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise AssertionError("no free TCP port on 127.0.0.1")


def wait_http(url: str, timeout_s: float = 60.0, proc: subprocess.Popen[Any] | None = None) -> None:
    """Until `url` answers at all (a server starting); AssertionError when it never does within
    `timeout_s`, or at once when `proc` (the server's process) has exited."""
    deadline = time.monotonic() + timeout_s
    # one client for every try: `httpx.get` builds a TLS context each time, some 45 ms of CPU a
    # try, 20 tries a second, which slowed the very server it waited for on a busy machine
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            try:
                client.get(url)
                return
            except httpx.TransportError:
                if proc is not None and proc.poll() is not None:
                    raise AssertionError(
                        f"{url} never answered: its process exited with {proc.returncode}"
                    ) from None
                time.sleep(0.05)
    raise AssertionError(f"{url} never answered in {timeout_s:.0f} s")


@contextmanager
def medpos_process(config: Path, *args: str, banner: int, ready: str) -> Iterator[list[str]]:
    """`medpos ARGS` as a process on `config`: its first `banner` lines of output, once `ready`
    (a URL) answers; terminated at the end."""
    proc = subprocess.Popen(
        [MEDPOS, *args],
        env=medpos_env(config),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    try:
        lines = [proc.stdout.readline() for _ in range(banner)]
        try:
            wait_http(ready, proc=proc)
        except AssertionError as exc:
            proc.terminate()
            try:
                rest, _ = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                rest, _ = proc.communicate()
            raise AssertionError(f"{exc}; it printed: {''.join(lines)}{rest}") from None
        yield lines
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        proc.stdout.close()
