"""A terminal on a real database file, with a clock the test sets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from terminal.bootstrap import open_terminal
from terminal.checkout.service import CheckoutService
from terminal.config import load_config
from terminal.demo import demo_claim

START = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)  # 10:00 in Hangzhou


class SetClock:
    """A clock the test moves by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> SetClock:
    return SetClock(START)


@pytest.fixture
def open_service(
    make_config: Callable[..., Path], clock: SetClock, clean_env: None
) -> Iterator[Callable[..., CheckoutService]]:
    opened: list[CheckoutService] = []

    def open_(**overrides: dict[str, Any]) -> CheckoutService:
        config = load_config(make_config(**overrides))
        service = open_terminal(config, clock=clock)
        opened.append(service)
        return service

    yield open_
    for service in opened:
        service.ledger.close()


@pytest.fixture
def service(open_service: Callable[..., CheckoutService]) -> CheckoutService:
    from tests.conftest import HIGH_LIMITS

    return open_service(risk=HIGH_LIMITS)


@pytest.fixture
def claim(clock: SetClock) -> dict[str, Any]:
    return demo_claim("pharmacy", clock.now().date())
