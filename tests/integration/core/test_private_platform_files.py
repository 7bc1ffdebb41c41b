"""The local platform's database (it holds the platform's root key), its enrolment code and the
demo issuer key are private (mode 0600) from their first start (docs/security.md)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from terminal._compose.platform import ENROL_CODE_FILE, prepare_local_hub
from terminal.config import load_config
from terminal.demo.ecard import KEY_FILE, demo_issuer_key
from terminal.errors import ConfigError


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_the_local_platforms_files_are_private_from_the_first_start(
    make_config: Callable[..., Path], tmp_path: Path
) -> None:
    config = load_config(make_config(), env={})
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    prepare_local_hub(config, data_dir, datetime(2026, 3, 15, 9, 0))
    for name in ("hub.db", ENROL_CODE_FILE, KEY_FILE):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name


def test_a_demo_issuer_key_open_to_others_is_refused(tmp_path: Path) -> None:
    demo_issuer_key(tmp_path)
    os.chmod(tmp_path / KEY_FILE, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        demo_issuer_key(tmp_path)
