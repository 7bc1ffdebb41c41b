"""The composition root's platform wiring: an enrolled terminal's checkout asks the platform
through the sync service it is given, the two hold no reference to each other, and `close()`
ends what was started."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from terminal.bootstrap import build_terminal
from terminal.checkout.breaker import QuietAfterFailure
from terminal.config import Config, load_config
from terminal.errors import LedgerError
from tests.conftest import free_port, write_config


def _config(tmp_path: Path, *, enrolled: bool) -> Config:
    # a port nothing listens on: the sync loop's attempts are refused at once
    platform: dict[str, object] = {"url": f"http://127.0.0.1:{free_port()}"}
    if enrolled:
        root = ed25519.Ed25519PrivateKey.generate().public_key()
        raw = root.public_bytes(Encoding.Raw, PublicFormat.Raw)
        platform["root_public_key"] = base64.b64encode(raw).decode()
    return load_config(write_config(tmp_path / "config.toml", {"platform": platform}), env={})


def test_a_terminal_not_enrolled_settles_without_a_platform_link(tmp_path: Path) -> None:
    with build_terminal(_config(tmp_path, enrolled=False)) as terminal:
        assert terminal.sync is None and terminal.service.platform is None
        assert terminal.service.ledger is terminal.ledger


def test_an_enrolled_terminal_asks_the_platform_through_its_sync_service(tmp_path: Path) -> None:
    with build_terminal(_config(tmp_path, enrolled=True)) as terminal:
        sync = terminal.sync
        assert sync is not None and terminal.service.platform is sync
        assert sync.ledger is terminal.ledger
        assert all(value is not terminal.service for value in vars(sync).values())
        assert all(value is not terminal.service for value in vars(sync.outbox).values())


def test_the_counter_asks_through_a_link_quiet_after_a_failure_and_close_ends_it(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    terminal = build_terminal(_config(tmp_path, enrolled=True))
    try:
        terminal.start_counter(run=False, say=said.append)
        assert isinstance(terminal.service.platform, QuietAfterFailure)
        assert terminal.service.platform.link is terminal.sync
        assert terminal.loop is not None and terminal.loop.thread.is_alive()
        assert terminal.open_printer(said.append) is terminal.printer is not None
        assert terminal.demo_slot is None  # `medpos serve`: no virtual cards
    finally:
        terminal.close()
    terminal.loop.thread.join(timeout=30)
    assert not terminal.loop.thread.is_alive()
    with pytest.raises(LedgerError):
        terminal.ledger.get_meta("config")
