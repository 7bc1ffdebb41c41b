"""Shared fixtures: a terminal configuration of its own for each test, on a real database file.

Also the suite's two run-wide rules: the Hypothesis profile (tests/support/profiles.py) and the
`vpcd` group. pcscd is one daemon per machine and vpcd's virtual readers listen on fixed ports, so
every test that inserts virtual cards, starts `medpos run` or drives the cashier's pages through
them carries the `vpcd` mark, given here by path and by fixture so that nobody has to remember it;
under pytest-xdist (`--dist loadgroup`) the mark puts them in one `xdist_group`, which one worker
runs one after another while the other workers run everything else.
"""

from __future__ import annotations

import os
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
from tests.support.profiles import load_profile

ROOT = Path(__file__).resolve().parent.parent

load_profile()

VPCD = "vpcd"
# Where every test uses pcscd/vpcd: the card integration tests, the cashier's pages in Chromium,
# the web e2e tests (`medpos serve`/`run` with the demo card slot), the card monitor's tests.
VPCD_PATHS = (
    "tests/integration/card/",
    "tests/ui/",
    "tests/e2e/test_web_",
    "tests/unit/card/test_monitor.py",
)
# Fixtures that reach pcscd or a vpcd slot, wherever a test that asks for them lives.
VPCD_FIXTURES = frozenset({"pcscd", "insert", "psam"})


def uses_vpcd(item: pytest.Item) -> bool:
    """True when `item` reaches the machine-wide pcscd/vpcd: by its path, fixtures or mark."""
    where = Path(str(item.path)).resolve().relative_to(ROOT).as_posix()
    fixtures = set(getattr(item, "fixturenames", ()))
    return (
        where.startswith(VPCD_PATHS)
        or bool(fixtures & VPCD_FIXTURES)
        or item.get_closest_marker(VPCD) is not None
    )


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if uses_vpcd(item):
            item.add_marker(pytest.mark.vpcd)
            item.add_marker(pytest.mark.xdist_group(VPCD))


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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, attempts: int = 200) -> None:
    """Until `url` answers at all (a server starting); AssertionError when it never does."""
    for _ in range(attempts):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


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
        wait_http(ready)
        yield lines
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        proc.stdout.close()
