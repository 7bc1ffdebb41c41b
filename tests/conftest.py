"""Shared fixtures: a terminal configuration of its own for each test, on a real database file."""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
MEDPOS = str(Path(sys.executable).parent / "medpos")

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
